import assert from "node:assert/strict";
import { test } from "node:test";
import { estimateQueueStarts, type PoolFlow, type PoolRunner } from "./estimate-queue-starts.ts";

const flow = (flowId: string, pool: string, remainingSec: number | null, running = false): PoolFlow => ({ flowId, pool, remainingSec, running });

test("queue starts: waiting flows in order to the runner free first; a busy runner is free when its flow's estimate is used up", () => {
  const runners: PoolRunner[] = [
    { pool: "a", state: "busy", job: { flowId: "f-run" }, jobSec: 100 },
    { pool: "a", state: "idle", job: null, jobSec: null },
    { pool: "a", state: "lost", job: null, jobSec: null },
  ];
  const { starts, pools } = estimateQueueStarts([flow("f-run", "a", 400, true), flow("f1", "a", 1000), flow("f2", "a", 50), flow("f3", "a", 10)], runners);
  assert.deepEqual(
    starts.map((s) => [s.flowId, s.position, s.startInSec, s.remainingSec]),
    [
      ["f-run", null, null, 300],
      // The idle runner takes f1 now; the busy one is free in 300 s for f2, then f3 after f2's 50 s.
      ["f1", 1, 0, 1000],
      ["f2", 2, 300, 50],
      ["f3", 3, 350, 10],
    ],
  );
  assert.deepEqual(pools, [{ pool: "a", idle: 1, busy: 1, running: 1, waiting: 3 }]);
});

test("queue starts: a pool with no runner up has no start; an unknown plan counts 0 s; a busy runner on an unknown flow is free now", () => {
  const runners: PoolRunner[] = [
    { pool: "a", state: "stopped", job: null, jobSec: null },
    { pool: "b", state: "busy", job: { flowId: "elsewhere" }, jobSec: 5 },
  ];
  const { starts, pools } = estimateQueueStarts([flow("fa", "a", 60), flow("fb1", "b", null), flow("fb2", "b", 60)], runners);
  assert.deepEqual(
    starts.map((s) => [s.flowId, s.startInSec]),
    [
      ["fa", null],
      ["fb1", 0],
      ["fb2", 0],
    ],
  );
  assert.deepEqual(pools.map((p) => [p.pool, p.idle, p.busy, p.waiting]), [
    ["a", 0, 0, 1],
    ["b", 0, 1, 2],
  ]);
});
