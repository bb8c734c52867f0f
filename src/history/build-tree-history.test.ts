import assert from "node:assert/strict";
import { test } from "node:test";
import { recordedTip, sha, tipCells, tipResults } from "../../test/helpers/recorded-tips.ts";
import { checkGolden } from "../../test/integration/mail-fixture-results.ts";
import type { BenchData } from "../domain/results.ts";
import { buildTreeHistory } from "./build-tree-history.ts";
import { renderTreeHistory } from "./render-tree-history.ts";

const results = tipResults;
const cells = tipCells;
const tip = recordedTip;

test("a tree's tips as one chain per machine and cell; a first A/A point, tips without numbers and tips being measured apart (golden)", () => {
  const failedBuild = results.map((r) => (r.stage === "build" ? { ...r, status: "fail" as const, summary: "candidate build failed: net/core/filter.c:12: error: expected ';'" } : r));
  const h = buildTreeHistory("bpf-next", [
    tip(1, sha("a"), sha("a")),
    tip(2, sha("a"), sha("b")),
    tip(3, sha("b"), sha("c"), { results: failedBuild.filter((r) => r.stage !== "bench"), cells: [] }),
    tip(4, sha("b"), sha("d")),
    tip(5, sha("d"), sha("e"), { finishedAt: null, status: "queued", results: [], cells: [] }),
  ]);
  assert.equal(h.profiles.length, 1);
  const line = h.profiles[0]!.cells[0]!;
  assert.deepEqual(line.points.map((p) => p.head[0]), ["a", "b", "d"]);
  assert.equal(line.points[0]!.step, null, "the first tip against itself carries no step");
  assert.deepEqual(line.points[1]!.step?.ratio, cells[0]!.analysis.ratio);
  assert.deepEqual(h.skipped.map((s) => s.why), ["build: candidate build failed: net/core/filter.c:12: error: expected ';'"]);
  assert.deepEqual(h.pending.map((p) => p.head[0]), ["e"]);
  checkGolden("tree-history.txt", renderTreeHistory(h));
});

test("a tip measured on another machine starts its own history: profiles are never mixed", () => {
  const bench = results.find((r) => r.stage === "bench")!;
  const elsewhere = results.map((r) => (r === bench ? { ...r, data: { ...(r.data as BenchData), profile: { ...(r.data as BenchData).profile, cpu: "AMD EPYC 9454P, 48 online (0-47)" } } } : r));
  const h = buildTreeHistory("bpf-next", [tip(1, sha("a"), sha("a")), tip(2, sha("a"), sha("b"), { results: elsewhere }), tip(3, sha("b"), sha("c"))]);
  assert.equal(h.profiles.length, 2);
  assert.deepEqual(h.profiles.map((p) => p.cells[0]!.points.map((x) => x.head[0]).join("")), ["ac", "b"]);
  // c was measured against b, a tip of the other machine: no step in this line (a hole, not a wrong step).
  assert.equal(h.profiles[0]!.cells[0]!.points[1]!.step, null);
  assert.equal(h.profiles[1]!.cells[0]!.points[0]!.step, null);
  assert.notEqual(h.profiles[0]!.key, h.profiles[1]!.key);
  assert.match(renderTreeHistory(h), /2 machine profiles: each is its own history, never compared with another\./);
});
