import { Queue } from "bullmq";
import type { RedisOptions } from "ioredis";
import type { Config } from "../config/schema.ts";
import { parseStageJobId, runnersKey } from "../queue/job-ids.ts";
import { ORCHESTRATOR_QUEUE, poolQueue } from "../queue/queue-names.ts";
import { bullConnection, newRedis } from "../queue/redis-connection.ts";
import { runnerRows } from "../runner/registry/runner-record.ts";
import type { QueueState } from "../web/web-view-schemas.ts";

/** Pool queues looked at, at most: runner records name pools, and a bad record must not open queues without end. */
const MAX_POOLS = 32;
const COUNTED = ["waiting", "waiting-children", "active", "delayed", "failed", "completed"] as const;
/**
 * Stage jobs read per pool and state (ids only): a flow has a job per stage, and every flow waits
 * behind all before it, so the whole backlog is read up to a bound well past any real one
 * (MAX_ESTIMATED_FLOWS flows, each with up to four stage jobs waiting for their children); failed
 * ones per pool, the newest few.
 */
export const MAX_STAGE_JOBS = 100_000;
export const MAX_FAILURES = 20;
const PENDING = ["active", "waiting", "prioritized", "delayed", "waiting-children"] as const;

/** A stage job's flow and stage, when its data has them. */
function stageOf(data: unknown): { flowId: string; stage: string } | null {
  const d = data as { flowId?: unknown; stage?: unknown } | null;
  return typeof d?.flowId === "string" && typeof d.stage === "string" ? { flowId: d.flowId, stage: d.stage } : null;
}

/** Stage jobs not finished and failed ones in one pool's queue. */
async function poolJobs(q: Queue, pool: string): Promise<Pick<QueueState, "stageJobs" | "failedJobs">> {
  const stageJobs: QueueState["stageJobs"] = [];
  // Ids only: a stage job's data carries the series' patches, and its id already names flow and stage.
  for (const state of PENDING) {
    for (const id of await q.getRanges([state], 0, MAX_STAGE_JOBS - 1, true)) {
      const s = parseStageJobId(id);
      if (s) stageJobs.push({ pool, ...s, state });
    }
  }
  const failedJobs: QueueState["failedJobs"] = [];
  for (const j of await q.getJobs(["failed"], 0, MAX_FAILURES - 1, false)) {
    const s = j ? stageOf(j.data) : null;
    if (!j || !s) continue;
    failedJobs.push({ pool, ...s, reason: j.failedReason || "failed (no reason given)", failedAt: j.finishedOn ? new Date(j.finishedOn).toISOString() : null, attempts: j.attemptsMade });
  }
  return { stageJobs, failedJobs };
}

/** Every pool a flow can wait in: the trees' own, /bench's, and the local runner's. */
export function flowPools(config: Config): string[] {
  return [...new Set([config.global.runner.pool, ...config.trees.map((t) => t.pool), ...config.global.github.bench.pools])];
}

/**
 * Reads what Redis knows right now: jobs per queue (the orchestrator's and each pool's) and the
 * runner agents with their heartbeats and jobs, the stage jobs waiting or running in each pool and
 * the ones that failed lately. One connection kept open; `read` never throws
 * for Redis being away, it says so instead.
 */
export function createQueueStateReader(opts: { redis: RedisOptions; prefix: string; pools: readonly string[] }) {
  // Fail fast when Redis is away: the page waits on this.
  const client = newRedis({ ...opts.redis, maxRetriesPerRequest: 1, lazyConnect: true });
  // A connection error reaches the reader through the failed command (the page says it);
  // an 'error' event nobody listens to would end the whole process instead.
  const ignore = () => {};
  client.on("error", ignore);
  const queues = new Map<string, Queue>();
  const queue = (name: string) => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: bullConnection(opts.redis), prefix: opts.prefix });
      q.on("error", ignore);
      queues.set(name, q);
    }
    return q;
  };
  return {
    async read(): Promise<QueueState> {
      try {
        const { rows, unreadable } = runnerRows(await client.hgetall(runnersKey(opts.prefix)), Date.now());
        const pools = [...new Set([...opts.pools, ...rows.map((r) => r.pool)])].filter((p) => /^[A-Za-z0-9_-]+$/.test(p)).slice(0, MAX_POOLS).sort();
        const names = [ORCHESTRATOR_QUEUE, ...pools.map(poolQueue)];
        const counts = await Promise.all(names.map((n) => queue(n).getJobCounts(...COUNTED)));
        const paused = await Promise.all(names.map((n) => queue(n).isPaused()));
        const jobs = await Promise.all(pools.map((p) => poolJobs(queue(poolQueue(p)), p)));
        return {
          available: true,
          reason: null,
          queues: names.map((name, i) => ({ name, paused: paused[i] ?? false, counts: Object.fromEntries(COUNTED.map((k) => [k, counts[i]?.[k] ?? 0])) })),
          runners: rows.map((r) => ({ id: r.id, pool: r.pool, host: r.host, state: r.state, seenSecAgo: r.seenSecAgo, job: r.job ? { flowId: r.job.flowId, stage: r.job.stage } : null, jobSec: r.jobSec })),
          unreadableRunners: unreadable.length,
          stageJobs: jobs.flatMap((j) => j.stageJobs),
          failedJobs: jobs.flatMap((j) => j.failedJobs),
        };
      } catch (e) {
        return { available: false, reason: `Redis did not answer: ${(e as Error).message}`, queues: [], runners: [], unreadableRunners: 0, stageJobs: [], failedJobs: [] };
      }
    },
    async close(): Promise<void> {
      await Promise.all([...queues.values()].map((q) => q.close()));
      client.disconnect();
    },
  };
}

export type QueueStateReader = ReturnType<typeof createQueueStateReader>;
