import assert from "node:assert/strict";
import { test } from "node:test";
import { describeSeriesChanges, describeVersionChanges } from "./describe-version-changes.ts";
import type { BenchCellView, SeriesView } from "./web-view-schemas.ts";

type Version = SeriesView["versions"][number];
const cell = (key: string, verdict: string, ratio: number | null): BenchCellView => ({ key, verdict, ratio, ci95: null, reason: "", meanA: null, meanB: null, nA: null, nB: null });
const version = (n: number, o: Partial<Version>): Version => ({
  seriesId: `s${n}`,
  version: n,
  flow: { id: `f${n}`, status: "pass", createdAt: "t", finishedAt: "t" },
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
    "no longer the -4.1% regression that v1 had on TCP_RR/container/1024 (now -0.2% no change)",
    "-5.0% regression on TCP_RR/loopback/1 (v1: +0.1% no change)",
  ]);
  const v3 = version(3, { flow: null });
  assert.deepEqual(describeSeriesChanges([v1, v2, v3]).map((c) => [c.from, c.to, c.lines.length]), [[1, 2, 4]], "a version that did not run is not compared");
});
