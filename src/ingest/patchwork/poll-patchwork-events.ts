import type { PatchworkClient } from "../../lib/patchwork-client.ts";
import { splitMbox } from "../mail/split-mbox.ts";
import type { CursorStore, InboxBatch, InboxMail } from "../public-inbox/inbox-source.ts";

/** The fields of a `series-completed` event read here (API 1.3 EventSeriesCompleted). */
interface SeriesCompletedEvent {
  id: number;
  date: string;
  payload: { series?: { id: number; mbox: string } };
}

/** Without a cursor, the first poll reads this far back (a restart keeps its cursor). */
export const FIRST_POLL_LOOKBACK_MS = 24 * 3600_000;

/** Django's naive UTC timestamp, the form patchwork takes in `since`. */
function naiveUtc(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, "");
}

/**
 * One poll of a patchwork project: the `series-completed` events after the
 * stored cursor, each series' mbox fetched from patchwork and split into
 * its mails, which go through the same ingest path as mail from the list
 * (a series seen both ways is one series: the Message-IDs are the same).
 * The cursor is the newest event's date (the `since` filter, inclusive)
 * and id (events at that same date already read are skipped); `commit`
 * moves it only after the mails were stored.
 */
export async function pollPatchworkEvents(
  deps: { cursors: CursorStore; client: PatchworkClient; now?: () => number },
  source: { project: string },
): Promise<InboxBatch> {
  const since = (await deps.cursors.get("since")) ?? naiveUtc((deps.now ?? Date.now)() - FIRST_POLL_LOOKBACK_MS);
  const lastId = Number((await deps.cursors.get("lastEventId")) ?? "0");
  const events = (
    await deps.client.list<SeriesCompletedEvent>("events/", { project: source.project, category: "series-completed", since, order: "date" })
  )
    .filter((e) => e.id > lastId && e.payload.series)
    .sort((a, b) => a.id - b.id);
  const mails: InboxMail[] = [];
  for (const e of events) {
    const s = e.payload.series!;
    const bytes = await deps.client.download(s.mbox);
    for (const m of splitMbox(bytes, `patchwork series ${s.id}`).messages) mails.push({ raw: Buffer.from(m.raw), where: `patchwork series ${s.id}` });
  }
  const newest = events.at(-1);
  return {
    mails,
    note: `${events.length} completed series, ${mails.length} mails`,
    async commit() {
      if (!newest) return;
      await deps.cursors.set("since", newest.date);
      await deps.cursors.set("lastEventId", String(newest.id));
    },
  };
}
