/**
 * Stand-in runner agents for `npm run bench:scale`: WORKERS BullMQ workers on
 * one pool's queue in this one process, each taking one job at a time with
 * the options a real runner agent uses (src/workers/start-workers.ts), whose
 * stage body only sleeps STAGE_MS. The queue, the flow chain (child values
 * read with previousResults, results handed to the parent) and the report
 * stay real; the kernel work does not run, so 50 of them fit on a small box.
 *
 * Usage: node --import tsx scripts/bench-scale-runner.ts REDIS_PORT PREFIX POOL WORKERS STAGE_MS
 * Prints "ready" on stdout once every worker is connected; stops on SIGTERM.
 */
import { hostname } from "node:os";
import { type Job, Worker } from "bullmq";
import type { Stage } from "../src/domain/results.ts";
import { poolQueue } from "../src/queue/queue-names.ts";
import { bullConnection } from "../src/queue/redis-connection.ts";
import { previousResults } from "../src/workers/previous-results.ts";

const [port, prefix, pool, workersArg, stageMsArg] = process.argv.slice(2);
if (!port || !prefix || !pool || !workersArg || !stageMsArg) throw new Error("usage: bench-scale-runner.ts REDIS_PORT PREFIX POOL WORKERS STAGE_MS");
const count = Number(workersArg);
const stageMs = Number(stageMsArg);
/** A real runner's default lock: unrenewed for runner.stalledSec (30 s), its job goes back to the pool. */
const STALLED_MS = 30_000;
const runner = `${hostname()}/bench-scale/${process.pid}`;

/** The real stage processor's contract: the chain's results so far plus this stage's. */
async function standInStage(job: Job): Promise<unknown> {
  const startedAt = new Date().toISOString();
  const prev = await previousResults(job);
  await new Promise((r) => setTimeout(r, stageMs));
  const stage = (job.data as { stage: Stage }).stage;
  // "skip" with no data is a result every stage may give (a series that did not apply): it passes the stage schemas.
  const result = { stage, status: "skip", summary: `benchmark stand-in slept ${stageMs} ms`, startedAt, endedAt: new Date().toISOString(), runner, data: null };
  return { results: [...prev.results, result], errors: prev.errors };
}

const connection = bullConnection({ host: "127.0.0.1", port: Number(port) });
const workers: Worker[] = [];
for (let i = 0; i < count; i++) {
  const w = new Worker(poolQueue(pool), standInStage, { connection, prefix, concurrency: 1, lockDuration: STALLED_MS, stalledInterval: STALLED_MS, maxStalledCount: 1 });
  w.on("error", (err) => process.stderr.write(`stand-in runner worker error: ${err.message}\n`));
  workers.push(w);
}
await Promise.all(workers.map((w) => w.waitUntilReady()));
process.stdout.write("ready\n");
process.once("SIGTERM", () => {
  void Promise.all(workers.map((w) => w.close())).then(() => process.exit(0));
});
