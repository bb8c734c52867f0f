import type { PatchworkClient } from "../../lib/patchwork-client.ts";
import { parseMessageHeaders } from "../mail/parse-message.ts";
import { splitMbox } from "../mail/split-mbox.ts";
import type { CursorStore, InboxBatch, InboxMail } from "../public-inbox/inbox-source.ts";

/** The fields of the events read here (API 1.3 EventSeriesCompleted, EventPatchCreated, EventPatchStateChanged, EventCoverCreated). */
interface PatchworkEvent {
  id: number;
  date: string;
  payload: {
    series?: { id: number; mbox: string };
    patch?: { id: number; msgid: string; mbox: string };
    cover?: { id: number; msgid: string; mbox: string };
    current_state?: string;
  };
}

/** What patchwork said about a mail, for the store (PatchworkMailFacts). */
export interface PatchworkFact {
  messageId: string;
  patchId?: number;
  seriesId?: number;
  state?: string;
}

export interface PatchworkFactStore {
  /** Record ids and states by Message-ID (called before the cursors move). */
  remember(facts: readonly PatchworkFact[]): Promise<void>;
  /** Which of these Message-IDs are stored already (from the list or an earlier poll). */
  known(messageIds: readonly string[]): Promise<Set<string>>;
}

/** Without a cursor, the first poll reads this far back (a restart keeps its cursor). */
export const FIRST_POLL_LOOKBACK_MS = 24 * 3600_000;

/** Django's naive UTC timestamp, the form patchwork takes in `since`. */
function naiveUtc(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, "");
}

const bare = (msgid: string) => msgid.trim().replace(/^<|>$/g, "");

/**
 * The cursor keys of one event category. series-completed keeps the
 * unprefixed keys it had before the other categories were followed.
 */
function cursorKeys(category: string): { since: string; lastId: string } {
  return category === "series-completed" ? { since: "since", lastId: "lastEventId" } : { since: `${category}:since`, lastId: `${category}:lastEventId` };
}

/**
 * One poll of a patchwork project, four event categories, each after its
 * own stored cursor (the events API filters one category per request):
 *  - `series-completed`: the series' mbox is fetched and split into its
 *    mails, which go through the same ingest path as mail from the list (a
 *    series seen both ways is one series: the Message-IDs are the same);
 *    each mail is recorded with patchwork's series id;
 *  - `patch-created`: the patch id is recorded; a patch whose mail is not
 *    stored yet and came in no completed series of this poll (a series
 *    patchwork holds incomplete, or a late patch of one) is fetched alone,
 *    so the incomplete-series deadline applies as it does to list mail;
 *  - `cover-created`: the cover's series id is recorded (read from the
 *    cover, which names its series); a cover whose mail is not stored yet
 *    and came in no completed series of this poll (it arrived after its
 *    series completed, or patchwork holds the series incomplete) is fetched
 *    alone, so the series it opens is assembled with it;
 *  - `patch-state-changed`: the state is recorded, and a patch moved to one
 *    of the source's `closingStates` is returned in `closed` (its series'
 *    queued work is withdrawn by the poller).
 * A cursor is the newest event's date (the `since` filter is inclusive)
 * and id (events at that same date already read are skipped); `commit`
 * records the facts and then moves the cursors, after the mails were stored.
 */
export async function pollPatchworkEvents(
  deps: { cursors: CursorStore; client: PatchworkClient; facts?: PatchworkFactStore; now?: () => number },
  source: { project: string; closingStates: readonly string[] },
): Promise<InboxBatch> {
  const read = async (category: string) => {
    const k = cursorKeys(category);
    const since = (await deps.cursors.get(k.since)) ?? naiveUtc((deps.now ?? Date.now)() - FIRST_POLL_LOOKBACK_MS);
    const lastId = Number((await deps.cursors.get(k.lastId)) ?? "0");
    const events = (await deps.client.list<PatchworkEvent>("events/", { project: source.project, category, since, order: "date" }))
      .filter((e) => e.id > lastId)
      .sort((a, b) => a.id - b.id);
    return { category, events, newest: events.at(-1) };
  };
  const completed = await read("series-completed");
  const created = await read("patch-created");
  const changed = await read("patch-state-changed");
  const covers = await read("cover-created");

  const mails: InboxMail[] = [];
  const facts: PatchworkFact[] = [];
  const inBatch = new Set<string>();
  const take = (bytes: Buffer, where: string, seriesId?: number) => {
    for (const m of splitMbox(bytes, where).messages) {
      const raw = Buffer.from(m.raw);
      mails.push({ raw, where });
      const messageId = parseMessageHeaders(raw).messageId;
      if (!messageId) continue;
      inBatch.add(messageId);
      if (seriesId !== undefined) facts.push({ messageId, seriesId });
    }
  };
  for (const e of completed.events) {
    const s = e.payload.series;
    if (s) take(await deps.client.download(s.mbox), `patchwork series ${s.id}`, s.id);
  }
  const lone = created.events.flatMap((e) => (e.payload.patch ? [e.payload.patch] : []));
  const known = deps.facts ? await deps.facts.known(lone.map((p) => bare(p.msgid))) : new Set<string>();
  let fetchedAlone = 0;
  for (const p of lone) {
    const messageId = bare(p.msgid);
    facts.push({ messageId, patchId: p.id });
    if (inBatch.has(messageId) || known.has(messageId)) continue;
    take(await deps.client.download(p.mbox), `patchwork patch ${p.id}`);
    fetchedAlone++;
  }
  const loneCovers = covers.events.flatMap((e) => (e.payload.cover ? [e.payload.cover] : []));
  const knownCovers = deps.facts ? await deps.facts.known(loneCovers.map((c) => bare(c.msgid))) : new Set<string>();
  let coversAlone = 0;
  for (const c of loneCovers) {
    const messageId = bare(c.msgid);
    // Came in a completed series of this poll: its series id is recorded already.
    if (inBatch.has(messageId)) continue;
    // The event names no series; the cover does (CoverDetail.series).
    const seriesId = (await deps.client.get<{ series?: { id: number }[] }>(`covers/${c.id}/`)).series?.[0]?.id;
    if (seriesId !== undefined) facts.push({ messageId, seriesId });
    if (knownCovers.has(messageId)) continue;
    take(await deps.client.download(c.mbox), `patchwork cover ${c.id}`, seriesId);
    coversAlone++;
  }
  const closed: { messageId: string; why: string }[] = [];
  for (const e of changed.events) {
    const p = e.payload.patch;
    const state = e.payload.current_state;
    if (!p || !state) continue;
    const messageId = bare(p.msgid);
    facts.push({ messageId, patchId: p.id, state });
    if (source.closingStates.includes(state)) closed.push({ messageId, why: `patchwork: ${state}` });
  }
  return {
    mails,
    closed,
    note: `${completed.events.length} completed series, ${fetchedAlone} patches and ${coversAlone} covers fetched alone, ${closed.length} patches closed, ${mails.length} mails`,
    async commit() {
      await deps.facts?.remember(facts);
      for (const r of [completed, created, changed, covers]) {
        if (!r.newest) continue;
        const k = cursorKeys(r.category);
        await deps.cursors.set(k.since, r.newest.date);
        await deps.cursors.set(k.lastId, String(r.newest.id));
      }
    },
  };
}
