import assert from "node:assert/strict";
import { test } from "node:test";
import { type BenchPlan, benchPlanOf, type BenchSettings, defaultSettleMs, estimateBenchSeconds, estimatePlanSeconds, planProblems } from "./bench-plan.ts";

const settings: BenchSettings = {
  tests: ["TCP_RR"],
  sizes: [1, 64, 1024],
  topologies: ["loopback"],
  variants: [
    { name: "busy_read=0", settings: [{ kind: "sysctl" }] },
    { name: "busy_read=50", settings: [{ kind: "sysctl" }] },
  ],
  rounds: 6,
  maxRounds: 6,
  runsPerRound: 1,
  durationSec: 3,
  warmup: true,
  design: "ABBA",
  pairing: "auto",
  warmupRounds: "first",
  pinning: null,
  seed: 1,
};

test("estimatePlanSeconds counts per-cell switches at the pairing's settle and first-round warm-ups", () => {
  const p = benchPlanOf(settings);
  assert.equal(p.pairing, "cell");
  assert.equal(defaultSettleMs(p), 200);
  // 6 rounds x 2 x 3 cells x 3.3 s + 1 round x 2 x 3 cells x 3.3 s + 36 switches x 0.2 s + 1 topology
  const expected = Math.ceil(6 * 2 * 3 * 3.3 + 2 * 3 * 3.3 + 36 * 0.2 + 1);
  assert.equal(estimatePlanSeconds(p), expected);
  assert.equal(estimateBenchSeconds(settings), expected, "a config is estimated as the stage runs it");
  // Per side: 2 s settles, one switch per side and round.
  const side: BenchPlan = { ...p, pairing: "side" };
  assert.equal(estimatePlanSeconds(side), Math.ceil(6 * 2 * 3 * 3.3 + 2 * 3 * 3.3 + 12 * 2 + 1));
  // Adaptive plans are estimated at maxRounds; a third side costs half as much again.
  assert.equal(estimateBenchSeconds({ ...settings, maxRounds: 12 }), Math.ceil(12 * 2 * 3 * 3.3 + 2 * 3 * 3.3 + 72 * 0.2 + 1));
  const three: BenchPlan = { ...p, variants: [...p.variants, { name: "c", settings: [] }] };
  assert.equal(estimatePlanSeconds(three), Math.ceil(6 * 3 * 3 * 3.3 + 3 * 3 * 3.3 + 54 * 0.2 + 1));
  // An arm is that third side.
  assert.equal(estimateBenchSeconds({ ...settings, arms: [{ name: "c", settings: [{ kind: "sysctl" }] }] }), estimatePlanSeconds(three));
});

test("benchPlanOf: auto pairing is per cell, kernel sides too (guests switch by pause/resume); without adaptive the plan stops at rounds", () => {
  const kernels = benchPlanOf({ ...settings, maxRounds: 10, variants: [{ name: "base", settings: [{ kind: "kernel" }] }, { name: "cand", settings: [{ kind: "kernel" }] }] }, { adaptive: false });
  assert.equal(kernels.pairing, "cell");
  assert.equal(benchPlanOf({ ...settings, pairing: "side" }).pairing, "side");
  assert.equal(kernels.maxRounds, 6);
  assert.deepEqual(kernels.cells.map((c) => c.size), [1, 64, 1024]);
});

test("planProblems: names, counts and the budget, whatever runs the sides", () => {
  const p = benchPlanOf(settings);
  assert.deepEqual(planProblems(p), []);
  assert.deepEqual(planProblems({ ...p, variants: [p.variants[0], { ...p.variants[0] }] }), ["the variants need distinct, non-empty names"]);
  assert.deepEqual(planProblems({ ...p, variants: [p.variants[0]] as unknown as BenchPlan["variants"] }), ["at least two variants are needed: [A = baseline, B = candidate, …]"]);
  assert.match(planProblems(p, { budgetSec: 100 })[0] ?? "", /^matrix too large: 3 cells × 2 variants × 6 rounds × 1 runs × 3 s ≈ 147 s, over the budget of 100 s$/);
  assert.deepEqual(planProblems(p, { budgetSec: 100 }, ["variant x: no"]), ["variant x: no"], "the budget only when nothing else is wrong");
});
