import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { checkGolden } from "../../test/integration/mail-fixture-results.ts";
import { PROJECT_ROOT } from "../lib/project-root.ts";
import { reportOfStoredFlow, type StoredFlow } from "../workers/build-flow-report.ts";
import { renderCheckRun } from "./render-check-run.ts";
import { renderPrComment } from "./render-markdown.ts";
import { renderText } from "./render-text.ts";

/**
 * A real kernel A/B flow with an arm (test/data/kernel-ab/feature-flow.json, recorded from the
 * kernel tier's feature series by scripts/record-flow.ts), rendered for the list, a PR comment and
 * a check run. The goldens hold every word; the assertions below hold the order a reader needs.
 */
const flow = JSON.parse(readFileSync(join(PROJECT_ROOT, "test", "data", "kernel-ab", "feature-flow.json"), "utf8")) as StoredFlow;
const report = reportOfStoredFlow(flow);

test("kernel A/B with an arm, as a mail: base vs candidate, then the arm, then the claim held against the arm (golden)", () => {
  const text = renderText(report);
  checkGolden("mail-kernel-arm.txt", text);
  const at = (s: string) => text.indexOf(s);
  assert.ok(at("Benchmark: netperf inside each kernel") > at("Build:  PASS"));
  assert.ok(at("Arm busy_read=50:") > at("  TCP_RR (loopback) 1 B"));
  assert.ok(at("Claims in the series: 1 (1 consistent") > at("Arm busy_read=50:"), text);
});

test("kernel A/B with an arm, as the PR comment that answers /bench: stages, kernel table, arm tables, claims, then the method (golden)", () => {
  const md = renderPrComment(report, { marker: "patchbench:flow-golden", request: "/bench tests=TCP_RR sizes=1 arm=busy_read=50", detailsUrl: null });
  checkGolden("pr-comment-kernel-arm.md", md);
  const order = ["- **Build** ✅ pass: built base and candidate", "| Cell | A: base | B: candidate |", "**Arm busy\\_read=50**", "| Cell | A: candidate | B: busy\\_read=50 |", "**Claims in the series**: 1 (1 consistent", "netperf inside each booted kernel, A = `base`, B = `candidate`; arms on the candidate kernel: `busy_read=50`"];
  const positions = order.map((s) => md.indexOf(s));
  assert.ok(positions.every((p) => p >= 0), `${JSON.stringify(order.filter((_, i) => positions[i]! < 0))}\n${md}`);
  assert.deepEqual([...positions].sort((a, b) => a - b), positions, md);
  const summary = renderCheckRun(report).summary;
  assert.ok(summary.indexOf("**Claims in the series**") > summary.indexOf("**Arm busy\\_read=50**"), summary);
});

test("kernel A/B with one kernel up at a time (bootEvery: side): the method says every change of side was a boot", () => {
  const copy = structuredClone(flow);
  const bench = copy.runs.find((r) => r.stage === "bench")!;
  const data = bench.data as { kernels: { mode: string; bootEvery?: string } };
  data.kernels.mode = "reboot";
  data.kernels.bootEvery = "side";
  const text = renderText(reportOfStoredFlow(copy)).replace(/\s+/g, " ");
  assert.match(text, /One kernel up at a time: every change of side boots that side's kernel \(the boot is the unit of replication\); a switch costs a shutdown and a boot \(3 boots in all, medians above\) \+ settle \d+ ms\./);
  assert.doesNotMatch(text, /pause [\d.]+ ms \+ resume/, "QMP pause and resume are not what a switch cost");
  assert.doesNotMatch(text, /Both kernels stay up/);
});
