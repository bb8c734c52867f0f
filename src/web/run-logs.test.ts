import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { StoredFlow } from "../workers/build-flow-report.ts";
import { PROJECT_ROOT } from "../../test/helpers/fixtures.ts";
import { RUN_LOG_NAME, runLogsOf } from "./run-logs.ts";

const flow = JSON.parse(readFileSync(join(PROJECT_ROOT, "test", "data", "kernel-ab", "feature-flow.json"), "utf8")) as StoredFlow;

test("a kernel flow's logs: both builds' and both boots' consoles, named from a closed set, each saying where the whole file is", () => {
  const logs = runLogsOf(flow.runs);
  assert.deepEqual(logs.map((l) => l.name), ["build-base.log", "build-candidate.log", "console-base.log", "console-candidate.log"]);
  for (const l of logs) assert.match(l.name, RUN_LOG_NAME);
  const build = flow.runs.find((r) => r.stage === "build")!.data as { candidate: { logTail: string; logPath: string }; boots: { consoleTail: string }[] };
  const cand = logs.find((l) => l.name === "build-candidate.log")!;
  assert.ok(cand.text.includes(build.candidate.logTail) && cand.text.includes(build.candidate.logPath));
  assert.ok(logs.find((l) => l.name === "console-candidate.log")!.text.includes(build.boots[1]!.consoleTail));
  // A run without a build stage has none; names a request could bring are refused before any look-up.
  assert.deepEqual(runLogsOf(flow.runs.filter((r) => r.stage !== "build")), []);
  for (const bad of ["../build-base.log", "build-base.log/..", "qemu-base.log", "build-base.log.gz", "console-base-1.log", "console-base-10.log", "build-base%2e.log"]) {
    assert.doesNotMatch(bad, RUN_LOG_NAME, bad);
  }
});
