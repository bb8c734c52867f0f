import { createHash } from "node:crypto";
import { parseMessageHeaders } from "../mail/parse-message.ts";
import { splitMbox } from "../mail/split-mbox.ts";
import { fetchConditional, type Validators } from "./fetch-conditional.ts";
import type { CursorStore, Fetch, InboxBatch, InboxMail } from "./inbox-source.ts";
import { inboxUrls } from "./inbox-urls.ts";
import { type FeedEntry, parseAtomFeed } from "./parse-atom-feed.ts";

/**
 * Follow a list over public-inbox's HTTP interface, as lore serves it:
 * poll `/<list>/new.atom` (conditional GET when the server gave validators;
 * public-inbox 1.9 sends none for the feed, so an unchanged body is also
 * recognised by its hash), then fetch each new entry's `/<list>/<id>/raw`.
 * When the feed moved past every entry we knew (more new mail than the feed
 * holds), the gap is filled from each new entry's whole thread
 * (`/<list>/<id>/t.mbox.gz`). The first poll only records where the feed is:
 * following starts now, history is not replayed.
 */

export interface HttpInboxSource {
  url: string;
  list: string;
}

export interface PollHttpInboxDeps {
  fetch?: Fetch;
  cursors: CursorStore;
  timeoutMs?: number;
}

/** Ids of feed entries remembered between polls (the feed itself holds far fewer). */
const SEEN_CAP = 1000;

export type FeedPlan =
  | { kind: "baseline"; seen: string[] }
  | { kind: "unchanged" }
  | { kind: "fetch"; raw: string[]; threads: string[]; seen: string[] };

/**
 * Pure: what to fetch for a feed, given the ids seen before (null = never
 * polled). New entries oldest first; a feed with no known entry left means
 * mail was missed in between, so whole threads are fetched.
 */
export function planFeed(entries: readonly FeedEntry[], seenBefore: readonly string[] | null): FeedPlan {
  const ids = entries.map((e) => e.messageId);
  if (seenBefore === null) return { kind: "baseline", seen: ids.slice(0, SEEN_CAP) };
  const seen = new Set(seenBefore);
  const fresh = entries.filter((e) => !seen.has(e.messageId)).reverse();
  if (fresh.length === 0) return { kind: "unchanged" };
  const gap = seenBefore.length > 0 && fresh.length === entries.length;
  const merged = [...new Set([...ids, ...seenBefore])].slice(0, SEEN_CAP);
  if (!gap) return { kind: "fetch", raw: fresh.map((e) => e.messageId), threads: [], seen: merged };
  return { kind: "fetch", raw: [], threads: fresh.map((e) => e.messageId), seen: merged };
}

function readSeen(value: string | undefined): string[] | null {
  if (value === undefined) return null;
  try {
    const v = JSON.parse(value) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : null;
  } catch {
    return null;
  }
}

function messageIdOf(raw: Uint8Array): string | null {
  try {
    return parseMessageHeaders(raw).messageId;
  } catch {
    return null;
  }
}

export async function pollHttpInbox(deps: PollHttpInboxDeps, source: HttpInboxSource): Promise<InboxBatch> {
  const fetchFn = deps.fetch ?? fetch;
  const urls = inboxUrls(source.url, source.list);
  const { cursors } = deps;
  const timeoutMs = deps.timeoutMs ?? 30_000;
  const validators: Validators = {
    etag: (await cursors.get("etag")) ?? null,
    lastModified: (await cursors.get("last-modified")) ?? null,
  };
  const feed = await fetchConditional(fetchFn, urls.feed, { validators, timeoutMs });
  const noop = async (): Promise<void> => {};
  if (feed.status !== "ok") return { mails: [], commit: noop, note: "feed not modified (304)" };
  const hash = createHash("sha256").update(feed.body).digest("hex");
  if (hash === (await cursors.get("feed-hash"))) return { mails: [], commit: noop, note: "feed unchanged" };
  const parsed = parseAtomFeed(feed.body.toString("utf8"));
  const plan = planFeed(parsed.entries, readSeen(await cursors.get("seen")));
  const commit = async (seen: string[] | null): Promise<void> => {
    if (seen !== null) await cursors.set("seen", JSON.stringify(seen));
    await cursors.set("feed-hash", hash);
    if (feed.validators.etag) await cursors.set("etag", feed.validators.etag);
    if (feed.validators.lastModified) await cursors.set("last-modified", feed.validators.lastModified);
  };
  if (plan.kind === "baseline") {
    return { mails: [], commit: () => commit(plan.seen), note: `first poll: following from ${plan.seen.length} feed entries on` };
  }
  if (plan.kind === "unchanged") return { mails: [], commit: () => commit(null), note: "no new entries" };

  const mails: InboxMail[] = [];
  let gone = 0;
  for (const id of plan.raw) {
    const url = urls.raw(id);
    const r = await fetchConditional(fetchFn, url, { timeoutMs, goneOk: true });
    if (r.status !== "ok") {
      gone++;
      continue;
    }
    // /raw is one message as mboxrd (a `From mboxrd@z` line, `>From` quoted).
    const split = splitMbox(r.body, `${source.list}/${id}/raw`, "mboxrd");
    for (const m of split.messages) mails.push({ raw: m.raw, where: url });
  }
  const inThreads = new Set<string>();
  for (const id of plan.threads) {
    // One fetch per thread: several new entries often share one.
    if (inThreads.has(id)) continue;
    const url = urls.thread(id);
    const r = await fetchConditional(fetchFn, url, { timeoutMs, goneOk: true });
    if (r.status !== "ok") {
      gone++;
      continue;
    }
    const split = splitMbox(r.body, `${source.list}/${id}/t.mbox.gz`, "mboxrd");
    for (const m of split.messages) {
      mails.push({ raw: m.raw, where: m.source });
      const mid = messageIdOf(m.raw);
      if (mid !== null) inThreads.add(mid);
    }
  }
  const note =
    plan.threads.length > 0
      ? `feed moved past every known entry: fetched ${plan.threads.length} threads (${mails.length} mails)`
      : `${plan.raw.length} new entries`;
  return { mails, commit: () => commit(plan.seen), note: gone > 0 ? `${note}; ${gone} gone (404)` : note };
}
