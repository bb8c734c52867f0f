import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { StoredFlow } from "../workers/build-flow-report.ts";
import { PROJECT_ROOT } from "../../test/helpers/fixtures.ts";
import { benchConsolesElsewhere, isRunLogName, RUN_LOG_NAME, runLogEntries, runLogsOf } from "./run-logs.ts";

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

test("run page log list: a stored log whole where this host has its file, else its tail and the runner that keeps it; every other log file of the flow on this host, boots in order", () => {
  const stored = runLogsOf(flow.runs);
  const runner = stored[0]!.runner;
  const files = [
    { name: "console-bench-candidate-10.log", bytes: 30 },
    { name: "console-bench-candidate-2.log", bytes: 20 },
    { name: "build-base.log", bytes: 5_000_000 },
    { name: "console-base.log", bytes: 99 },
    { name: "console-kselftests-base.log", bytes: 7 },
  ];
  // console-base.log is on the host but is not that boot's (the caller found it does not end with the stored tail).
  const entries = runLogEntries(stored, files, new Set(["build-base.log"]), "/api/runs/f");
  assert.deepEqual(
    entries.map((e) => [e.name, e.whole, e.runner, e.bytes]),
    [
      ["build-base.log", true, null, 5_000_000],
      ["build-candidate.log", false, runner, Buffer.byteLength(stored[1]!.text)],
      ["console-base.log", false, runner, Buffer.byteLength(stored[2]!.text)],
      ["console-candidate.log", false, runner, Buffer.byteLength(stored[3]!.text)],
      ["console-bench-candidate-2.log", true, null, 20],
      ["console-bench-candidate-10.log", true, null, 30],
      ["console-kselftests-base.log", true, null, 7],
    ],
  );
  assert.equal(entries[4]!.title, "console of the bench side candidate's guest, boot 2");
  assert.equal(entries[4]!.url, "/api/runs/f/logs/console-bench-candidate-2.log");
  for (const e of entries) assert.ok(isRunLogName(e.name), e.name);
  // Bench guests' consoles here: nothing to say; none here: how many boots' consoles the bench runner keeps.
  assert.equal(benchConsolesElsewhere(flow.runs, entries), null);
  const bench = flow.runs.find((r) => r.stage === "bench")!;
  const sides = (bench.data as { kernels: { sides: unknown[] } }).kernels.sides.length;
  assert.deepEqual(benchConsolesElsewhere(flow.runs, runLogEntries(stored, [], new Set(), "/x")), { runner: bench.runner, boots: sides });
  assert.equal(benchConsolesElsewhere(flow.runs.filter((r) => r.stage !== "bench"), []), null);
});
