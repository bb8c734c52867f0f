import assert from "node:assert/strict";
import { test } from "node:test";
import { judgeBoots } from "./judge-boots.ts";
import type { BootRun } from "./results.ts";

const boot = (kernel: BootRun["kernel"], outcome: BootRun["outcome"], failing: string[] = []): BootRun => ({
  target: "qemu",
  kernel,
  outcome,
  reason: outcome === "ok" ? "" : "stopped",
  durationMs: 1000,
  consoleTail: "",
  probes: outcome === "ok" ? ["a", "b"].map((name) => ({ suite: "probe", name, status: failing.includes(name) ? ("fail" as const) : ("pass" as const), detail: "", durationMs: 1 })) : [],
});

test("a boot is judged against the base kernel's boot: the series' failures are fail, the tree's or infrastructure's are not", () => {
  assert.deepEqual(judgeBoots([boot("base", "ok"), boot("candidate", "ok")]), ["pass", "pass"]);
  assert.deepEqual(judgeBoots([boot("base", "ok"), boot("candidate", "ok", ["a"])]), ["pass", "fail"]);
  assert.deepEqual(judgeBoots([boot("base", "ok", ["a"]), boot("candidate", "ok", ["a"])]), ["warn", "pass"]);
  assert.deepEqual(judgeBoots([boot("base", "ok", ["a"]), boot("candidate", "ok", ["a", "b"])]), ["warn", "fail"]);
  assert.deepEqual(judgeBoots([boot("base", "ok", ["a"]), boot("candidate", "ok")]), ["warn", "pass"]);
  assert.deepEqual(judgeBoots([boot("base", "ok"), boot("candidate", "panic")]), ["pass", "fail"]);
  assert.deepEqual(judgeBoots([boot("base", "ok"), boot("candidate", "timeout")]), ["pass", "error"]);
  assert.deepEqual(judgeBoots([boot("base", "timeout"), boot("candidate", "oops")]), ["error", "error"]);
  assert.deepEqual(judgeBoots([boot("running", "ok", ["b"])]), ["fail"]);
});
