import assert from "node:assert/strict";
import { test } from "node:test";
import { readFixture } from "../../../../test/helpers/fixtures.ts";
import { classifyTestProgsRun, type TestProgsRun } from "./classify-run.ts";
import { parseTestProgsOutput } from "./parse-output.ts";

const run = (stdout: string | null, over: Partial<TestProgsRun> = {}): TestProgsRun => ({
  spawnError: null,
  exitCode: 0,
  signal: null,
  output: stdout === null ? null : parseTestProgsOutput(stdout),
  ...over,
});
const SPLICE = { test: "tcp_splice" };
const BUSY = { test: "tcp_splice", subtest: "busy_poll" };

const cases: { name: string; run: TestProgsRun; sel: { test: string; subtest?: string }; status: string; reason: RegExp }[] = [
  {
    name: "missing binary (ENOENT) is infrastructure",
    run: run(null, { spawnError: { code: "ENOENT", message: "spawn ./test_progs ENOENT" }, exitCode: null }),
    sel: SPLICE,
    status: "error",
    reason: /test_progs binary not found \(ENOENT\)/,
  },
  {
    name: "test absent on the base kernel: Summary 0/0 → skip, not fail",
    run: run("Summary: 0/0 PASSED, 0 SKIPPED, 0 FAILED\n", { exitCode: 2 }),
    sel: SPLICE,
    status: "skip",
    reason: /^test not present: no test matches tcp_splice$/,
  },
  {
    name: "test absent, only module loader noise printed, exit 2",
    run: run("Loading bpf_testmod.ko...\nSuccessfully loaded bpf_testmod.ko.\n", { exitCode: 2 }),
    sel: SPLICE,
    status: "skip",
    reason: /test not present/,
  },
  {
    name: "test passes",
    run: run("#401/1   tcp_splice/round_trip:OK\n#401     tcp_splice:OK\nSummary: 1/1 PASSED, 0 SKIPPED, 0 FAILED\n"),
    sel: SPLICE,
    status: "pass",
    reason: /1 test\(s\), 1 subtest\(s\)/,
  },
  {
    name: "failing subtest names the subtest",
    run: run(
      "x:FAIL:recv unexpected\n#401/1   tcp_splice/round_trip:FAIL\n#401     tcp_splice:FAIL\nSummary: 0/0 PASSED, 0 SKIPPED, 1 FAILED\n",
      { exitCode: 1 },
    ),
    sel: SPLICE,
    status: "fail",
    reason: /^failed: tcp_splice\/round_trip$/,
  },
  {
    name: "a failure seen before a crash is still the series' failure",
    run: run("#401/1   tcp_splice/round_trip:FAIL\n#401     tcp_splice:FAIL\n", { exitCode: null, signal: "SIGSEGV" }),
    sel: SPLICE,
    status: "fail",
    reason: /failed: tcp_splice\/round_trip/,
  },
  {
    name: "crash without failures is error, never pass",
    run: run("#400     tcp_hdr_options:OK\n", { exitCode: null, signal: "SIGKILL" }),
    sel: SPLICE,
    status: "error",
    reason: /killed by SIGKILL/,
  },
  {
    name: "truncated output without Summary is error",
    run: run("#401/1   tcp_splice/round_trip:OK\n", { exitCode: 0 }),
    sel: SPLICE,
    status: "error",
    reason: /no result line|Summary/,
  },
  {
    name: "infrastructure setup failure (exit 3)",
    run: run("Failed to reset process affinity: -1!\n", { exitCode: 3 }),
    sel: SPLICE,
    status: "error",
    reason: /exit status 3/,
  },
  {
    name: "non-zero exit without a failing test is error",
    run: run("#401     tcp_splice:OK\nSummary: 1/0 PASSED, 0 SKIPPED, 0 FAILED\n", { exitCode: 1 }),
    sel: SPLICE,
    status: "error",
    reason: /exited with status 1/,
  },
  {
    name: "everything skipped",
    run: run("#401     tcp_splice:SKIP\nSummary: 1/0 PASSED, 1 SKIPPED, 0 FAILED\n"),
    sel: SPLICE,
    status: "skip",
    reason: /skipped by test_progs \(tcp_splice\)/,
  },
  {
    name: "subtest filter matched nothing → test not present",
    run: run("#401     tcp_splice:OK\nSummary: 1/0 PASSED, 0 SKIPPED, 0 FAILED\n"),
    sel: BUSY,
    status: "skip",
    reason: /^test not present: no subtest matches tcp_splice\/\*busy_poll\*$/,
  },
  {
    name: "busy-poll subtest passes",
    run: run("#401/3   tcp_splice/busy_poll:OK\n#401     tcp_splice:OK\nSummary: 1/1 PASSED, 0 SKIPPED, 0 FAILED\n"),
    sel: BUSY,
    status: "pass",
    reason: /tcp_splice\/\*busy_poll\*/,
  },
  {
    name: "green run whose Summary disagrees → warn",
    run: run("#401     tcp_splice:OK\nSummary: 2/0 PASSED, 0 SKIPPED, 0 FAILED\n"),
    sel: SPLICE,
    status: "warn",
    reason: /inconsistent: Summary says 2 PASSED/,
  },
];

for (const c of cases) {
  test(`classifyTestProgsRun: ${c.name}`, () => {
    const out = classifyTestProgsRun(c.run, c.sel);
    assert.equal(out.status, c.status);
    assert.match(out.reason, c.reason);
  });
}

test("classifyTestProgsRun on the real BPF CI run: fail, naming the failing subtest only", () => {
  const text = readFixture("selftests", "test_progs", "test_progs.stdout.two-failures.DERIVED-timestamps-stripped.txt");
  const out = classifyTestProgsRun(run(text.toString("utf8"), { exitCode: 1 }), { test: "*" });
  assert.equal(out.status, "fail");
  // prog_tests_framework prints a FAIL subtest under an OK test on purpose: not a failure.
  assert.equal(out.reason, "failed: cgrp_local_storage/attach_cgroup");
});
