import assert from "node:assert/strict";
import { test } from "node:test";
import { cellKeyLabel, describeSeriesChanges, describeVersionChanges } from "./describe-version-changes.ts";
import { hasResults, type CellSummary, type VersionSummary } from "./version-summary.ts";

type Version = VersionSummary & { ran: boolean };
const cell = (key: string, verdict: string, ratio: number | null): CellSummary => ({ key, verdict, ratio });
const version = (n: number, o: Partial<Version>): Version => ({
  version: n,
  ran: true,
  apply: { status: "pass", summary: "" },
  checks: null,
  build: null,
  selftests: null,
  bench: null,
  cells: [],
  ...o,
});

test("since the version before: a regression gone, a new one, a stage that broke or was fixed; unmoved cells and one-sided cells say nothing", () => {
  const v1 = version(1, {
    build: { status: "fail", summary: "" },
    selftests: { status: "pass", summary: "" },
    cells: [cell("TCP_RR/container/1024", "regression", 0.959), cell("TCP_RR/loopback/1", "no change", 1.001), cell("UDP_RR/loopback/1", "noisy", 1.2), cell("TCP_CRR/loopback/1", "no change", 1)],
  });
  const v2 = version(2, {
    build: { status: "pass", summary: "" },
    selftests: { status: "fail", summary: "" },
    cells: [cell("TCP_RR/container/1024", "no change", 0.998), cell("TCP_RR/loopback/1", "regression", 0.95), cell("UDP_RR/loopback/1", "inconclusive", 0.99), cell("TCP_STREAM/loopback/1", "improvement", 1.3)],
  });
  assert.deepEqual(describeVersionChanges(v1, v2), [
    "build fixed: pass (was fail in v1)",
    "selftests fails (was pass in v1)",
    "no longer the -4.1% regression that v1 had on TCP_RR container 1 KB (now -0.2% no change)",
    "-5.0% regression on TCP_RR loopback 1 B (v1: +0.1% no change)",
  ]);
  const v3 = version(3, { ran: false });
  const v4 = version(4, { apply: null });
  assert.equal(hasResults(v4), false);
  const v5 = version(5, { build: { status: "pass", summary: "" }, selftests: { status: "pass", summary: "" }, cells: v2.cells });
  assert.deepEqual(
    describeSeriesChanges([v1, v2, v3, v4, v5], (v) => v.ran && hasResults(v)).map((c) => [c.from, c.to, c.lines]),
    [[2, 5, ["selftests fixed: pass (was fail in v2)"]], [1, 2, describeVersionChanges(v1, v2)]],
    "a version that did not run, or ran nothing, is not compared: v5 is compared with v2",
  );
});

test("a cell key is named as the reports name cells; a key of another shape is kept as it is", () => {
  assert.deepEqual(["TCP_RR/container/1024", "TCP_STREAM/loopback/1", "odd-key", "TCP_RR/x/y"].map(cellKeyLabel), ["TCP_RR container 1 KB", "TCP_STREAM loopback 1 B", "odd-key", "TCP_RR/x/y"]);
});
