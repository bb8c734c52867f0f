import { type FlowProducer, Queue } from "bullmq";
import type { Config } from "../config/schema.ts";
import { HttpStatusError } from "../ingest/public-inbox/fetch-conditional.ts";
import type { Fetch } from "../ingest/public-inbox/inbox-source.ts";
import { nextPollDelayMs } from "../ingest/public-inbox/poll-backoff.ts";
import type { Git } from "../lib/git.ts";
import type { Logger } from "../lib/logger.ts";
import { createBenchLimiter } from "../queue/bench-limiter.ts";
import { createFlowCanceller } from "../queue/cancel-flow.ts";
import { ORCHESTRATOR_QUEUE } from "../queue/queue-names.ts";
import { bullConnection, newRedis } from "../queue/redis-connection.ts";
import type { Db } from "../store/open-store.ts";
import { createSourcePoller, type PollResult, pollOnce } from "./mail-poller.ts";
import type { SourceLeases } from "./source-leases.ts";

/** A source's answer that its credentials are wrong or expired, or do not allow reading (PatchworkError auth/forbidden). */
function credentialsRefused(e: unknown): boolean {
  const { name, code } = (e ?? {}) as { name?: string; code?: string };
  return name === "PatchworkError" && (code === "auth" || code === "forbidden");
}

/**
 * The poll loop of `patchbench start`: one timer per source, each at its own
 * interval, backing off (interval × 2^failures, max 1 h, or the server's
 * Retry-After) while it fails; a source that refuses the credentials (a
 * wrong or expired patchwork token) is not polled again. Returns a handle that stops the loop and waits
 * for a poll in progress.
 */
export function startMailPolling(deps: {
  db: Db;
  config: Config;
  flows: FlowProducer;
  log: Logger;
  installationId: string;
  /** Redis options, for the queue the canceller removes superseded flows from. */
  redis: import("ioredis").RedisOptions;
  fetch?: Fetch;
  git?: Git;
  /** Called after each poll of a source, with when that poll started (ms). */
  onPoll?: (source: string, result: PollResult, startedAtMs: number) => void;
  /** With several orchestrators on one Redis: a source is polled only while its lease is held here. */
  leases?: SourceLeases;
}): { close(): Promise<void> } {
  const { config, log } = deps;
  const queue = new Queue(ORCHESTRATOR_QUEUE, { connection: bullConnection(deps.redis), prefix: config.global.redis.prefix });
  const cancelFlow = createFlowCanceller(queue);
  const limiterRedis = newRedis({ ...deps.redis, maxRetriesPerRequest: null });
  const benchLimiter = createBenchLimiter(limiterRedis, config.global.redis.prefix, config.global.github.bench.rateLimit);
  let stopped = false;
  const running = new Set<Promise<unknown>>();
  const timers = new Set<NodeJS.Timeout>();
  const wakers = new Map<string, () => void>();
  const leases = deps.leases;
  leases?.onAcquired((label) => wakers.get(label)?.());
  for (const source of config.global.sources) {
    const poller = createSourcePoller(source, {
      db: deps.db,
      dataDir: config.paths.dataDir,
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
      ...(deps.git ? { git: deps.git } : {}),
      ...(leases ? { fence: (label: string) => leases.fence(label) } : {}),
      log,
    });
    let failures = 0;
    let polling = false;
    let next: NodeJS.Timeout | null = null;
    const schedule = (delayMs: number): void => {
      const t = setTimeout(() => {
        timers.delete(t);
        next = null;
        tick();
      }, delayMs);
      timers.add(t);
      next = t;
    };
    // A lease just taken: poll now rather than at the end of the wait.
    wakers.set(poller.label, () => {
      if (stopped || polling || !next) return;
      clearTimeout(next);
      timers.delete(next);
      next = null;
      tick();
    });
    const tick = (): void => {
      if (stopped) return;
      if (leases && leases.fence(poller.label) === null) {
        // Another orchestrator polls it; the lease keeper wakes this loop when it is ours.
        schedule(source.intervalSec * 1000);
        return;
      }
      polling = true;
      let retryAfterSec: number | null = null;
      let refused = false;
      const startedAt = Date.now();
      const p = pollOnce({ ...deps, pollers: [poller], cancelFlow, benchLimiter })
        .then((r) => {
          const failed = r.failures[0]?.error;
          if (failed !== undefined) {
            failures++;
            if (failed instanceof HttpStatusError) retryAfterSec = failed.retryAfterSec;
            refused = credentialsRefused(failed);
          } else failures = 0;
          const quiet = !(r.newMails || r.flows.length || r.superseded.length || r.quarantined);
          log[quiet ? "debug" : "info"]({ source: poller.label, ...r }, "poll");
          deps.onPoll?.(poller.label, r, startedAt);
        })
        .catch((e: unknown) => {
          // The store or the queue failed, not the source: same backoff.
          failures++;
          log.error({ err: e, source: poller.label, failures }, "poll failed");
        })
        .finally(() => {
          running.delete(p);
          polling = false;
          if (stopped) return;
          // A refused token stays refused (it comes from the environment, read at start): polling on would only repeat it.
          if (refused) {
            log.error({ source: poller.label }, "the source refused patchbench's credentials; it is not polled again until patchbench restarts with a working token");
            return;
          }
          schedule(nextPollDelayMs({ intervalSec: source.intervalSec, failures, retryAfterSec }));
        });
      running.add(p);
    };
    tick();
  }
  return {
    async close() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      await Promise.allSettled([...running]);
      await queue.close();
      limiterRedis.disconnect();
    },
  };
}
