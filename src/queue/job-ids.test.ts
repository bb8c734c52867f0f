import assert from "node:assert/strict";
import { test } from "node:test";
import { benchRateKeys, benchRefusedKey, githubDeliveryKey, githubEventJobId, parseStageJobId, reportJobId, stageJobId } from "./job-ids.ts";

test("job ids and keys: deterministic, one shape each, safe for BullMQ", () => {
  assert.equal(reportJobId("flow-1a2b"), "flow-1a2b-report");
  assert.equal(stageJobId("flow-1a2b", "bench"), "flow-1a2b-bench");
  assert.equal(githubEventJobId("72d3162e-cc78-11e3-81ab-4c9367dc0958"), "gh-72d3162e-cc78-11e3-81ab-4c9367dc0958");
  assert.equal(githubEventJobId("a:b/c d"), "gh-a_b_c_d", "no ':' (BullMQ's key separator) in a job id");
  assert.equal(githubDeliveryKey("pb", "d1"), "pb:github:delivery:d1");
  assert.equal(benchRefusedKey("pb", "github:x", "o/r#1"), benchRefusedKey("pb", "github:x", "o/r#1"));
  assert.notEqual(benchRefusedKey("pb", "github:x", "o/r#1"), benchRefusedKey("pb", "github:x", "o/r#2"));
  const k = benchRateKeys("pb", "491234", "github:x");
  assert.match(k.sender, /^pb:bench:rate:491234:/);
  assert.equal(k.all, "pb:bench:rate:491234:all");
});

test("a stage job's id read back: flow and stage (a flow id with dashes and a rerun suffix too); other ids are not stage jobs", () => {
  for (const stage of ["apply", "build", "selftests", "bench"]) {
    assert.deepEqual(parseStageJobId(stageJobId("flow-9dafdd61fc23e21628b8-rerun-2", stage)), { flowId: "flow-9dafdd61fc23e21628b8-rerun-2", stage });
  }
  for (const id of [reportJobId("flow-a"), "17", "gh-x", "flow-a-benchmark", "-bench"]) assert.equal(parseStageJobId(id), null, id);
});
