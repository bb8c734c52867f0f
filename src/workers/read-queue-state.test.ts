import assert from "node:assert/strict";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { Queue, Worker } from "bullmq";
import { startTestRedis } from "../../test/helpers/redis-server.ts";
import { stageJobId } from "../queue/job-ids.ts";
import { poolQueue } from "../queue/queue-names.ts";
import { queueStateSchema } from "../web/web-view-schemas.ts";
import { createQueueStateReader } from "./read-queue-state.ts";

test("queue state with Redis away: said so on the page, not thrown", async () => {
  // A port that was just free and is closed again: nothing answers there.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const reader = createQueueStateReader({ redis: { host: "127.0.0.1", port, retryStrategy: () => null }, prefix: "pb", pools: ["local"] });
  try {
    const state = queueStateSchema.parse(await reader.read());
    assert.equal(state.available, false);
    assert.match(state.reason ?? "", /^Redis did not answer: /);
  } finally {
    await reader.close();
  }
});

test("queue state from a real Redis: a pool's stage jobs by flow and state, and a stage job that failed after its attempts with its reason", async () => {
  const redis = await startTestRedis();
  const connection = { host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: null };
  const prefix = "pbq";
  const q = new Queue(poolQueue("local"), { connection, prefix });
  const reader = createQueueStateReader({ redis: { host: "127.0.0.1", port: redis.port }, prefix, pools: ["local"] });
  let worker: Worker<unknown, void> | undefined;
  try {
    await q.add("bench", { flowId: "flow-broken", stage: "bench" }, { attempts: 2, backoff: { type: "fixed", delay: 10 } });
    const w = new Worker(
      poolQueue("local"),
      async (): Promise<void> => {
        throw new Error("netperf server did not start");
      },
      { connection, prefix, autorun: true },
    );
    worker = w;
    const failed = new Promise<void>((resolve) => {
      w.on("failed", (job) => {
        if (job && job.attemptsMade >= 2) resolve();
      });
    });
    await failed;
    await worker?.close();
    await q.add("apply", { flowId: "flow-a", stage: "apply" }, { jobId: stageJobId("flow-a", "apply") });
    await q.add("odd", { nothing: true });
    const state = queueStateSchema.parse(await reader.read());
    assert.equal(state.available, true, state.reason ?? "");
    assert.deepEqual(state.stageJobs, [{ pool: "local", flowId: "flow-a", stage: "apply", state: "waiting" }]);
    assert.equal(state.failedJobs.length, 1);
    const f = state.failedJobs[0]!;
    assert.deepEqual([f.pool, f.flowId, f.stage, f.reason, f.attempts], ["local", "flow-broken", "bench", "netperf server did not start", 2]);
    assert.ok(f.failedAt && Date.parse(f.failedAt) <= Date.now());
  } finally {
    await worker?.close();
    await reader.close();
    await q.close();
    await redis.stop();
  }
});
