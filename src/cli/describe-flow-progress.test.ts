import assert from "node:assert/strict";
import { test } from "node:test";
import { describeFlowProgress, formatDuration } from "./describe-flow-progress.ts";

const at = (sec: number) => 1_000_000 + sec * 1000;

test("progress names the stage, the bench's cells and the time left, never a queue state", () => {
  const stages = [
    { stage: "apply", state: "completed", startedAt: at(0), finishedAt: at(3) },
    { stage: "selftests", state: "completed", startedAt: at(3), finishedAt: at(5) },
    { stage: "bench", state: "active", startedAt: at(5), finishedAt: null },
  ];
  const line = describeFlowProgress({ stages, pool: "local", bench: { cells: 4, estimateSec: 300, adaptive: false }, now: at(65) });
  assert.equal(line, "stage 3/3 bench: running for 1 min 00 s, 4 cells x 2 variants, about 4 min 00 s left (apply, selftests done)");
  const one = describeFlowProgress({ stages, pool: "local", bench: { cells: 1, estimateSec: 300, adaptive: false }, now: at(65) });
  assert.match(one, /, 1 cell x 2 variants, /);
  const waiting = describeFlowProgress({
    stages: [{ stage: "apply", state: "waiting", startedAt: null, finishedAt: null }, { stage: "bench", state: "waiting-children", startedAt: null, finishedAt: null }],
    pool: "lab",
    bench: null,
    now: at(1),
  });
  assert.equal(waiting, 'stage 1/2 apply: waiting for a runner of pool "lab"');
  assert.doesNotMatch(waiting, /waiting-children/);
  const all = describeFlowProgress({ stages: stages.map((s) => ({ ...s, state: "completed" })), pool: "local", bench: null, now: at(400) });
  assert.equal(all, "3/3 stages done; writing the report");
});

test("durations read as a person says them", () => {
  assert.equal(formatDuration(42), "42 s");
  assert.equal(formatDuration(61), "1 min 01 s");
  assert.equal(formatDuration(7322), "2 h 02 min");
});
