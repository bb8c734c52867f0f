import assert from "node:assert/strict";
import { test } from "node:test";
import type { Verdict } from "../domain/verdict.ts";
import { headlineOf } from "./build-report.ts";
import type { Report } from "./report.ts";

/** A report whose bench has one cell per verdict given, each with the MDE given (a fraction). */
function withCells(cells: [Verdict, number][]): Omit<Report, "headline"> {
  const counts: Record<string, number> = { improvement: 0, regression: 0, "no change": 0, inconclusive: 0, noisy: 0 };
  for (const [v] of cells) counts[v] = (counts[v] ?? 0) + 1;
  return {
    status: "pass",
    errors: [],
    bench: {
      counts,
      cells: cells.map(([verdict, mde]) => ({ analysis: { verdict, mde, ratio: verdict === "improvement" ? 1.2 : verdict === "regression" ? 0.8 : 1 } })),
    },
  } as unknown as Omit<Report, "headline">;
}

test("headline: a run that could not see a 100% change says so, never 'changes under 100% could hide'", () => {
  const h = headlineOf(withCells([["noisy", 1.7], ["inconclusive", 2.4]]));
  assert.match(h, /^no regression seen; this run could not have seen even a 100% change; 1 inconclusive; 1 noisy$/);
  assert.doesNotMatch(h, /under 100%/);
});

test("headline: with no cell decided, the smallest change the run could have seen", () => {
  assert.match(headlineOf(withCells([["inconclusive", 0.37], ["noisy", 0.5]])), /^no regression seen; this run could not have seen a change under 37%; 1 inconclusive; 1 noisy$/);
});

test("headline: 'no regressions' only for the cells that could tell; the blind ones are named", () => {
  const h = headlineOf(withCells([["no change", 0.05], ["no change", 0.06], ["noisy", 0.9], ["noisy", 1.2], ["inconclusive", 0.4]]));
  assert.equal(h, "no regressions in 2 of 5 cells; 2 unchanged; 1 inconclusive; 2 noisy");
  assert.equal(headlineOf(withCells([["no change", 0.05], ["improvement", 0.04]])), "no regressions; 1 of 2 cells faster, up to 1.20x; 1 unchanged");
});
