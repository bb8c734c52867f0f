import assert from "node:assert/strict";
import { test } from "node:test";
import { parseKtapOutput } from "../suites/ktap/parse-output.ts";
import { classifyKselftest, judgeKselftestRun, type KselftestRun, NOT_PRESENT } from "./classify-kselftest.ts";

const ktap = (...lines: string[]) => parseKtapOutput(`${lines.join("\n")}\n`);
const judge = (code: number | null, out: string[], timedOut = false) => judgeKselftestRun({ code, signal: null, timedOut, timeoutSec: 300, ktap: ktap(...out) });

test("one run: KTAP results decide, the exit code only adds; without KTAP the exit code decides (4 = skip)", () => {
  assert.deepEqual(judge(1, ["TAP version 13", "1..2", "ok 1 lo_is_up", "not ok 2 fails_on_purpose"]), {
    present: true,
    status: "fail",
    detail: "1 of 2 passed; failed: fails_on_purpose",
    failed: ["fails_on_purpose"],
  });
  assert.equal(judge(0, ["TAP version 13", "1..1", "ok 1 a"]).status, "pass");
  assert.equal(judge(1, ["TAP version 13", "1..1", "ok 1 a"]).detail, "1 of 1 passed, but exit 1");
  assert.equal(judge(4, ["TAP version 13", "1..1", "ok 1 a # SKIP no veth"]).status, "skip");
  assert.equal(judge(0, ["hello"]).status, "pass");
  assert.equal(judge(4, []).status, "skip");
  assert.deepEqual(judge(2, ["oops"]).detail, "exit 2 without KTAP results");
  assert.match(judge(null, ["TAP version 13", "1..2", "ok 1 a"], true).detail, /^timed out after 300 s/);
  // A nested failure is named parent/child.
  assert.deepEqual(judge(1, ["KTAP version 1", "1..1", "    KTAP version 1", "    1..2", "    ok 1 x", "    not ok 2 y", "not ok 1 group"]).failed, ["group/y"]);
});

const run = (status: KselftestRun["status"], failed: string[] = []): KselftestRun => ({ present: true, status, detail: `${status} detail`, failed });

test("base against candidate: the series' fault, pre-existing, new, fixed, removed", () => {
  const c = (base: KselftestRun | null, cand: KselftestRun) => {
    const t = classifyKselftest("net/x.sh", base, cand, 5);
    return `${t.status}: ${t.detail}`;
  };
  assert.equal(c(run("pass"), run("fail", ["b"])), "fail: fails with the series, passes on the base: fail detail");
  assert.equal(c(run("fail", ["b"]), run("fail", ["b"])), "warn: fails on the base too (not this series' fault): fail detail");
  assert.equal(c(run("fail", ["b"]), run("fail", ["b", "c"])), "fail: fails more with the series: c (base fails too: fail detail)");
  assert.equal(c(NOT_PRESENT, run("fail", ["b"])), "fail: new in this series: fails (fail detail)");
  assert.equal(c(NOT_PRESENT, run("pass")), "pass: new in this series: passes (pass detail)");
  assert.equal(c(run("fail", ["b"]), run("pass")), "pass: fixed by this series (the base fails: fail detail)");
  assert.equal(c(run("pass"), run("pass")), "pass: passes on base and candidate (pass detail)");
  assert.equal(c(run("pass"), NOT_PRESENT), "skip: removed by this series");
  assert.equal(c(null, run("fail")), "fail: candidate: fails (fail detail); not compared: the base kernel could not run it");
  assert.equal(c(run("error"), run("pass")), "error: could not run: candidate pass detail; base error detail");
  const t = classifyKselftest("net/x.sh", run("pass"), run("pass"), 5);
  assert.deepEqual([t.suite, t.name, t.durationMs], ["kselftest", "net/x.sh", 5]);
});
