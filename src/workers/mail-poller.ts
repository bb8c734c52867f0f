import { readdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import type { FlowProducer, } from "bullmq";
import type { CancelFlow } from "../queue/cancel-flow.ts";
import { pickTree } from "../config/pick-tree.ts";
import { readTreeTip } from "../runner/workspace/read-tree-tip.ts";
import type { Config, SourceConfig } from "../config/schema.ts";
import { type Series, seriesRef } from "../domain/series.ts";
import { assembleMailbox } from "../ingest/mail/assemble-mailbox.ts";
import { parseMessageHeaders } from "../ingest/mail/parse-message.ts";
import { normalizeTitle } from "../ingest/mail/parse-subject.ts";
import { splitMbox } from "../ingest/mail/split-mbox.ts";
import { pollGitInbox } from "../ingest/public-inbox/follow-git-epochs.ts";
import type { CursorStore, Fetch, InboxBatch, InboxMail } from "../ingest/public-inbox/inbox-source.ts";
import { pollHttpInbox } from "../ingest/public-inbox/poll-http-inbox.ts";
import { createPatchworkPoller } from "./patchwork-poller.ts";
import type { Git } from "../lib/git.ts";
import type { Logger } from "../lib/logger.ts";
import type { BenchLimiter, } from "../queue/bench-limiter.ts";
import { enqueueFlow } from "../queue/enqueue-flow.ts";
import { planFlow } from "../queue/plan-flow.ts";
import { getCursor, setCursor, setCursorFenced } from "../store/cursor-repository.ts";
import { countFlowsForSeries } from "../store/flow-repository.ts";
import type { Db } from "../store/open-store.ts";
import { quarantineMessage } from "../store/quarantine-repository.ts";
import { listRawMailsSince, saveIncomingMail, saveSeries } from "../store/series-repository.ts";
import { handleMailBenchCommands } from "./mail-bench.ts";
import { closedReason, patchworkClosing, withdrawSeriesFlows } from "./withdraw-series.ts";
import { listSeriesWithMail, type PatchworkClosing } from "../store/patchwork-repository.ts";

/** Series are assembled from the mails of this window (patches arrive over hours). */
const WINDOW_MS = 7 * 24 * 3600_000;
/** Larger mails are quarantined unread (lore's own limit is lower). */
const MAX_MAIL_BYTES = 16 * 1024 * 1024;
const INGEST = "ingest";

/** One configured source, with whatever state it keeps between polls. */
export interface SourcePoller {
  readonly label: string;
  readonly source: SourceConfig;
  /** New mails since the source's cursor; `commit` advances it (after the mails are stored). */
  collect(): Promise<InboxBatch>;
}

export interface SourceDeps {
  db: Db;
  /** Where git mirrors of public-inbox epochs live. */
  dataDir: string;
  fetch?: Fetch;
  git?: Git;
  /** With several orchestrators: the source's fencing token while this one holds its lease (null: not held). */
  fence?: (label: string) => number | null;
  /** The service's logger, for sources that log on their own (patchwork's client). */
  log?: Logger;
}

/** A cursor write refused because another orchestrator holds the source now. */
export class LeaseLostError extends Error {
  constructor(readonly source: string) {
    super(`the lease of ${source} passed to another orchestrator; its cursor is left to that one`);
  }
}

/** Moves a source's cursor; with a fence, only while this orchestrator's lease is the newest. */
function cursorWriter(deps: SourceDeps, source: string, label: string): (key: string, value: string) => Promise<void> {
  const { db, fence } = deps;
  if (!fence) return (k, v) => setCursor(db, source, k, v);
  return async (k, v) => {
    const f = fence(label);
    if (f === null || !(await setCursorFenced(db, source, k, v, f))) throw new LeaseLostError(label);
  };
}

function cursorStore(deps: SourceDeps, label: string): CursorStore {
  return { get: (k) => getCursor(deps.db, label, k), set: cursorWriter(deps, label, label) };
}

/** Stable name of a source (cursor scope and logs); no credentials. */
export function sourceLabel(source: SourceConfig): string {
  if (source.kind === "maildir" || source.kind === "mbox") return `${source.kind}:${source.path}`;
  const u = new URL(source.url);
  u.username = "";
  u.password = "";
  return `${source.kind}:${u.toString().replace(/\/+$/, "")}#${source.kind === "patchwork" ? source.project : source.list}`;
}

export function createSourcePoller(source: SourceConfig, deps: SourceDeps): SourcePoller {
  const label = sourceLabel(source);
  const { db } = deps;
  switch (source.kind) {
    case "maildir":
      return {
        label,
        source,
        async collect() {
          const dir = join(source.path, "new");
          const mails: InboxMail[] = [];
          for (const name of readdirSync(dir).sort()) {
            const p = join(dir, name);
            mails.push({ raw: readFileSync(p), where: p });
          }
          return {
            mails,
            note: `${mails.length} new files`,
            // Marked seen (new/ → cur/, as MUAs do) only after they were stored.
            async commit() {
              if (deps.fence && deps.fence(label) === null) throw new LeaseLostError(label);
              for (const m of mails) {
                const name = m.where.split("/").pop()!;
                renameSync(m.where, join(source.path, "cur", name.includes(":2,") ? name : `${name}:2,S`));
              }
            },
          };
        },
      };
    case "mbox":
      return {
        label,
        source,
        async collect() {
          const key = `mbox:${source.path}`;
          const offset = Number((await getCursor(db, key, "offset")) ?? "0");
          const size = statSync(source.path).size;
          const start = size < offset ? 0 : offset;
          const note = size < offset ? "mbox shrank; read again from the start" : "";
          const none = { mails: [], note, commit: async () => {} };
          if (size === start) return none;
          const bytes = readFileSync(source.path).subarray(start);
          const split = splitMbox(bytes, source.path);
          // Own copies: a view would keep the whole file's buffer alive.
          const mails = split.messages.map((m) => ({ raw: Buffer.from(m.raw), where: m.source }));
          const write = cursorWriter(deps, key, label);
          return { mails, note, commit: () => write("offset", String(size)) };
        },
      };
    case "public-inbox-http":
      return {
        label,
        source,
        collect: () =>
          pollHttpInbox(
            { cursors: cursorStore(deps, label), ...(deps.fetch ? { fetch: deps.fetch } : {}) },
            { url: source.url, list: source.list },
          ),
      };
    case "public-inbox-git": {
      const host = new URL(source.url).host.replace(/[^A-Za-z0-9._-]/g, "_");
      const mirrorDir = join(deps.dataDir, "public-inbox", host, source.list);
      return {
        label,
        source,
        collect: () =>
          pollGitInbox(
            {
              cursors: cursorStore(deps, label),
              mirrorDir,
              ...(deps.fetch ? { fetch: deps.fetch } : {}),
              ...(deps.git ? { git: deps.git } : {}),
            },
            { url: source.url, list: source.list, epochs: source.epochs },
          ),
      };
    }
    case "patchwork":
      return createPatchworkPoller(source, { label, cursors: cursorStore(deps, label), db, ...(deps.fetch ? { fetch: deps.fetch } : {}), ...(deps.log ? { log: deps.log } : {}) });
  }
}

/**
 * Pure: series id → the id of a newer version of it in the same window. Newer
 * means linked through previousVersion (b4 change-id, threading, title), or the
 * same author and title at a higher version (a resent copy of v1 is not linked
 * but is just as obsolete once v2 exists).
 */
export function supersededSeries(series: readonly Series[]): Map<string, string> {
  const byRef = new Map<string, Series>();
  for (const s of series) {
    const ref = seriesRef(s);
    if (ref) byRef.set(ref, s);
  }
  const out = new Map<string, string>();
  for (const s of series) {
    let prev = s.previousVersion ? byRef.get(s.previousVersion) : undefined;
    const seen = new Set<string>([s.id]);
    while (prev && !seen.has(prev.id)) {
      seen.add(prev.id);
      // The newest version that replaces it wins the record.
      const had = out.get(prev.id);
      const hadVersion = had ? (series.find((x) => x.id === had)?.version ?? 0) : 0;
      if (!had || s.version > hadVersion) out.set(prev.id, s.id);
      prev = prev.previousVersion ? byRef.get(prev.previousVersion) : undefined;
    }
  }
  const newest = new Map<string, Series>();
  const key = (s: Series): string => `${s.author}\0${normalizeTitle(s.title)}`;
  for (const s of series) {
    const have = newest.get(key(s));
    if (!have || s.version > have.version) newest.set(key(s), s);
  }
  for (const s of series) {
    const top = newest.get(key(s));
    if (top && top.version > s.version && !out.has(s.id)) out.set(s.id, top.id);
  }
  return out;
}

export interface PollDeps {
  db: Db;
  config: Config;
  flows: FlowProducer;
  log: Logger;
  installationId: string;
  sources?: SourceConfig[];
  /** Pollers that keep their state between calls (startMailPolling); default: made from `sources`. */
  pollers?: SourcePoller[];
  /** Removes a superseded version's pending jobs; without it they are only marked in the store. */
  cancelFlow?: CancelFlow;
  /** /bench rate limits; without it /bench replies wait (unhandled) for a poll that has one. */
  benchLimiter?: BenchLimiter;
  fetch?: Fetch;
  git?: Git;
  now?: () => number;
}

export interface PollResult {
  newMails: number;
  flows: string[];
  superseded: string[];
  quarantined: number;
  notes: string[];
  /** Sources that failed this poll (the others still ran); the loop backs these off. */
  failures: { source: string; error: unknown }[];
}

async function storeMails(db: Db, mails: readonly InboxMail[], fresh: Set<string>): Promise<{ stored: number; quarantined: number }> {
  let stored = 0;
  let quarantined = 0;
  for (const it of mails) {
    if (it.raw.length > MAX_MAIL_BYTES) {
      let messageId: string | null = null;
      try {
        messageId = parseMessageHeaders(it.raw.subarray(0, 256 * 1024)).messageId;
      } catch {
        messageId = null;
      }
      const reason = `message of ${it.raw.length} bytes exceeds the ${MAX_MAIL_BYTES}-byte limit`;
      await quarantineMessage(db, { messageId, reason, source: it.where, raw: null });
      quarantined++;
      continue;
    }
    let messageId: string | null = null;
    let problem = "no Message-ID";
    try {
      messageId = parseMessageHeaders(it.raw).messageId;
    } catch (e) {
      problem = `unparsable headers: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (!messageId) {
      await quarantineMessage(db, { messageId: null, reason: problem, source: it.where, raw: it.raw });
      quarantined++;
    } else if (await saveIncomingMail(db, messageId, it.raw)) {
      stored++;
      fresh.add(messageId);
    }
  }
  return { stored, quarantined };
}

/**
 * One poll over the given sources: store new mails (quarantining the
 * unreadable), reassemble the recent window, and enqueue a flow for each
 * complete (or overdue incomplete) series. A series with a newer version in
 * the window is not enqueued, and its queued flows are removed and marked
 * "superseded". Flows are idempotent, so a series seen again enqueues nothing.
 * A source that fails is listed in `failures`; the others still ran.
 */
export async function pollOnce(deps: PollDeps): Promise<PollResult> {
  const { db, config, log } = deps;
  const now = deps.now ?? Date.now;
  const pollers =
    deps.pollers ??
    (deps.sources ?? config.global.sources).map((s) =>
      createSourcePoller(s, {
        db,
        dataDir: config.paths.dataDir,
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
        ...(deps.git ? { git: deps.git } : {}),
      }),
    );
  const result: PollResult = { newMails: 0, flows: [], superseded: [], quarantined: 0, notes: [], failures: [] };
  const closed: { messageId: string; why: string }[] = [];
  /** Message-IDs stored by this poll. */
  const fresh = new Set<string>();
  for (const poller of pollers) {
    let batch: InboxBatch;
    try {
      batch = await poller.collect();
    } catch (e) {
      if (e instanceof LeaseLostError) {
        log.warn({ source: poller.label }, e.message);
        continue;
      }
      result.failures.push({ source: poller.label, error: e });
      log.error({ err: e, source: poller.label }, "mail source failed; backing off");
      continue;
    }
    const r = await storeMails(db, batch.mails, fresh);
    try {
      await batch.commit();
    } catch (e) {
      if (!(e instanceof LeaseLostError)) throw e;
      // The mails are stored (idempotently); the new holder reads on from its own cursor.
      log.warn({ source: poller.label }, e.message);
    }
    result.newMails += r.stored;
    result.quarantined += r.quarantined;
    closed.push(...(batch.closed ?? []));
    if (batch.note) result.notes.push(`${poller.label}: ${batch.note}`);
  }
  const deadline = Number((await getCursor(db, INGEST, "next-deadline")) ?? "0");
  const due = deadline > 0 && now() >= deadline;
  // The states that close a series, per patchwork project: the polled sources', and every other configured one's.
  const closing = patchworkClosing([...pollers.map((p) => p.source), ...config.global.sources]);
  if (result.newMails > 0 || due) await assembleAndEnqueue(deps, now(), result, closing, fresh);
  // After the assembly: a series enqueued in this same poll is withdrawn too.
  if (deps.cancelFlow) {
    for (const c of closed) {
      for (const seriesId of await listSeriesWithMail(db, c.messageId)) {
        await withdrawSeriesFlows({ db, config, log, cancelFlow: deps.cancelFlow }, seriesId, { status: "cancelled", by: c.why });
      }
    }
  }
  return result;
}

async function assembleAndEnqueue(deps: PollDeps, nowMs: number, result: PollResult, closing: readonly PatchworkClosing[], fresh: ReadonlySet<string>): Promise<void> {
  const { db, config, log } = deps;
  // The window's mails with their arrival times (the incomplete deadline counts from arrival).
  const window = await listRawMailsSince(db, new Date(nowMs - WINDOW_MS).toISOString());
  const box = await assembleMailbox(
    window.map((m) => m.raw),
    {
      now: nowMs,
      incompleteAfterMs: config.global.ingest.incompleteAfterSec * 1000,
      arrivedAt: new Map(window.map((m) => [m.messageId, m.arrivedAt])),
    },
  );
  const replaced = supersededSeries(box.series.filter((s) => s.kind === "patch"));
  for (const [oldId, newId] of replaced) {
    // Without a canceller the jobs would keep running: leave such flows as they are.
    if (!deps.cancelFlow) break;
    const newer = box.series.find((x) => x.id === newId);
    const w = await withdrawSeriesFlows({ db, config, log, cancelFlow: deps.cancelFlow }, oldId, {
      status: "superseded",
      by: newId,
      ...(newer ? { note: `superseded by v${newer.version}` } : {}),
    });
    result.superseded.push(...w.withdrawn);
  }
  let nextDeadline = 0;
  for (const s of box.series) {
    if (s.kind !== "patch" || s.patches.length === 0 || replaced.has(s.id)) continue;
    if (box.states[s.id] === "waiting") {
      const d = box.deadlines[s.id] ?? 0;
      if (d > 0 && (nextDeadline === 0 || d < nextDeadline)) nextDeadline = d;
      continue;
    }
    // Already enqueued once (any status): nothing to store or plan again. Keeps a
    // poll's cost at reassembling the window, however many series it holds.
    if ((await countFlowsForSeries(db, s.id)) > 0) {
      // Its cover letter came after the series was enqueued (patchwork's cover-created, or the list): the stored series gets it.
      const cover = s.cover && fresh.has(s.cover.messageId) ? box.raw.get(s.cover.messageId) : undefined;
      if (s.cover && cover) {
        await saveSeries(db, s, new Map([[s.cover.messageId, cover]]));
        log.info({ seriesId: s.id, cover: s.cover.messageId }, "a late cover letter joins its series");
      }
      continue;
    }
    // Patchwork is done with it, or its mail asks to be ignored: not run (seen again each poll of the window, hence debug).
    const closedWhy = await closedReason(db, s, box.raw, closing);
    if (closedWhy) {
      log.debug({ seriesId: s.id, why: closedWhy }, "series not run");
      continue;
    }
    const tree = pickTree(s, config.trees, config.global.defaultTree);
    await saveSeries(db, s, box.raw);
    const plan = planFlow({ series: s, raw: box.raw, tree, installationId: deps.installationId, treeTip: await readTreeTip(tree), caps: config.global.ingest });
    const r = await enqueueFlow({ db, flows: deps.flows, log }, plan);
    if (r.created) result.flows.push(r.flowId);
  }
  await setCursor(db, INGEST, "next-deadline", String(nextDeadline));
  // `/bench` requests by mail from maintainers (replies in a series' thread).
  if (deps.benchLimiter) result.flows.push(...(await handleMailBenchCommands({ ...deps, limiter: deps.benchLimiter }, box)));
}

/** Have the next poll assemble the stored window again, new mail or not (a mail let in from quarantine waits for none). */
export async function reassembleOnNextPoll(db: Db): Promise<void> {
  await setCursor(db, INGEST, "next-deadline", "1");
}
