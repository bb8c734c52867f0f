import { DelayedError, type Job } from "bullmq";
import { sql } from "kysely";
import type { Logger } from "../lib/logger.ts";
import type { Db } from "../store/open-store.ts";

/** Connection-level error codes of Node sockets and PostgreSQL (class 08 connection exception, 57P0x shutdown, 53300 too many connections). */
const UNAVAILABLE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "57P01", "57P02", "57P03", "53300", "SQLITE_BUSY"]);
const UNAVAILABLE_TEXT = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|database is locked|cannot reach the store/i;

/**
 * Pure: the store could not be reached (PostgreSQL down or restarting, a
 * network cut, a locked SQLite file) — as opposed to a query or data that is
 * wrong. Looks through `cause` and AggregateError members.
 */
export function isStoreUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== "object" || depth > 4) return false;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === "string" && (UNAVAILABLE_CODES.has(e.code) || e.code.startsWith("08"))) return true;
  if (typeof e.message === "string" && UNAVAILABLE_TEXT.test(e.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isStoreUnavailable(x, depth + 1))) return true;
  return isStoreUnavailable(e.cause, depth + 1);
}

/** Pure: the wait before the n-th try (n from 1) after the store was out: 5 s doubling, at most 60 s. */
export function storeWaitMs(n: number): number {
  return Math.min(60_000, 5000 * 2 ** Math.max(0, n - 1));
}

/** Whether the store answers a trivial query within a few seconds. */
async function storeAnswers(db: Db, timeoutMs = 5000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((r) => {
    timer = setTimeout(() => r(false), timeoutMs);
  });
  try {
    return await Promise.race([sql`select 1`.execute(db).then(() => true, () => false), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Wraps a job processor whose work needs the store: while the store cannot
 * be reached, the job is put back as delayed without spending one of its
 * attempts (an outage of any length loses no flow), and the log says so.
 * A connection error is taken for the store's only when the store does not
 * answer either: GitHub, SMTP or patchwork being away is the job's own
 * failure, retried (and given up) by BullMQ's attempts as before.
 */
export function waitingForStore<T>(log: Logger, db: Db, processor: (job: Job, token?: string) => Promise<T>): (job: Job, token?: string) => Promise<T> {
  const waits = new Map<string, number>();
  return async (job, token) => {
    try {
      const out = await processor(job, token);
      waits.delete(job.id ?? "");
      return out;
    } catch (e) {
      if (!isStoreUnavailable(e) || token === undefined || (await storeAnswers(db))) {
        waits.delete(job.id ?? "");
        throw e;
      }
      const n = (waits.get(job.id ?? "") ?? 0) + 1;
      waits.set(job.id ?? "", n);
      const ms = storeWaitMs(n);
      log.warn({ jobId: job.id, err: e instanceof Error ? e.message : String(e), retryInSec: ms / 1000 }, "the store cannot be reached: the job waits for it (no attempt spent)");
      await job.moveToDelayed(Date.now() + ms, token);
      throw new DelayedError();
    }
  };
}
