import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { minimumDetectableEffect } from "./minimum-detectable-effect.ts";
import { type NoiseModel, type SessionDesign, simulateDesign, simulateEffect } from "./simulate-design.ts";

// Modest iteration counts keep this file to a few seconds; scripts/bench-validate.ts runs more.
const N = 400;
const session = (order: SessionDesign["order"], extra: Partial<SessionDesign> = {}): SessionDesign => ({
  order,
  rounds: 6,
  runsPerRound: 3,
  runSeconds: 3,
  warmupSeconds: 3,
  ...extra,
});
const normal1: NoiseModel = { name: "normal 1%", runCv: 0.01, shape: "normal" };
const lognormal1: NoiseModel = { name: "log-normal 1%", runCv: 0.01, shape: "lognormal" };
// 18% in 15 minutes: the drift measured on the runner VM with nothing changed (FACTS.md).
const drift: NoiseModel = { name: "normal 1% + drift", runCv: 0.01, shape: "normal", drift: -0.18, driftSeconds: 900 };
const bimodal: NoiseModel = { name: "slow mode 1%", runCv: 0.01, shape: "normal", slowModeProb: 0.01, slowModeFactor: 0.3 };

describe("simulated designs: false positives per matrix of 10 null cells", () => {
  it("ABBA and ABAB stay ≤ 8% (nominal 5%) with stationary noise, and the cells are not just 'noisy'", () => {
    for (const order of ["ABBA", "ABAB"] as const) {
      for (const noise of [normal1, lognormal1]) {
        const r = simulateEffect({ design: session(order), noise, cells: 10, iterations: N, seed: 11 }, 0, 0);
        assert.ok(r.fprPerMatrix <= 0.08, `${order} ${noise.name}: FPR ${r.fprPerMatrix}`);
        assert.ok(r.noisyFraction < 0.05, `${order} ${noise.name}: noisy ${r.noisyFraction}`);
        assert.ok(r.verdicts.null["no change"] > 0.5 * N * 10, `${order}: most null cells read "no change"`);
      }
    }
  });

  it("without the floor the p-values alone give the nominal 5% per matrix (BH, all null)", () => {
    const r = simulateEffect(
      { design: session("ABBA"), noise: normal1, cells: 10, iterations: N, seed: 12, analysis: { floorMin: 0, floorCvMultiplier: 0 } },
      0,
      0,
    );
    assert.ok(r.fprPerMatrix >= 0.02 && r.fprPerMatrix <= 0.09, `FPR ${r.fprPerMatrix}`);
  });

  it("AAABBB under the measured drift flags a change that is not there in > 30% of matrices", () => {
    const r = simulateEffect({ design: session("AAABBB"), noise: drift, cells: 10, iterations: N, seed: 13 }, 0, 0);
    assert.ok(r.fprPerMatrix > 0.3, `FPR ${r.fprPerMatrix}`);
  });

  it("ABBA under the same drift stays ≤ 8% when noise is read from pairs, with few cells noisy", () => {
    const r = simulateEffect(
      { design: session("ABBA"), noise: drift, cells: 10, iterations: N, seed: 14, analysis: { noiseFrom: "pairs" } },
      0,
      0,
    );
    assert.ok(r.fprPerMatrix <= 0.08, `FPR ${r.fprPerMatrix}`);
    assert.ok(r.noisyFraction < 0.05, `noisy ${r.noisyFraction}`);
  });

  it("slow-mode runs make cells noisy instead of flagged", () => {
    const r = simulateEffect({ design: session("ABBA"), noise: bimodal, cells: 10, iterations: N, seed: 15 }, 0, 0);
    assert.ok(r.fprPerMatrix <= 0.08, `FPR ${r.fprPerMatrix}`);
    // P(a cell has ≥ 1 slow run among 36) = 1 − 0.99^36 ≈ 30%
    assert.ok(r.noisyFraction > 0.2 && r.noisyFraction < 0.4, `noisy ${r.noisyFraction}`);
  });

  it("adaptive ABBA (6 → +4 → 16) stays ≤ 8% and uses between 6 and 16 rounds", () => {
    const r = simulateEffect(
      { design: session("ABBA", { adaptive: { step: 4, maxRounds: 16 } }), noise: normal1, cells: 10, iterations: N, seed: 16 },
      0,
      0,
    );
    assert.ok(r.fprPerMatrix <= 0.08, `FPR ${r.fprPerMatrix}`);
    assert.ok(r.meanRoundsPerSide >= 6 && r.meanRoundsPerSide <= 16);
  });
});

describe("simulated designs: power", () => {
  // Round CV of 3 runs at 1% run CV; planning MDE at 6 rounds/side, α 0.01, 80% power.
  const mde = minimumDetectableEffect({ cv: 0.01 / Math.sqrt(3), roundsPerSide: 6 });

  it("ABBA finds an effect of 2 × MDE in ≥ 80% of the changed cells (5 of 10 per matrix)", () => {
    const r = simulateEffect({ design: session("ABBA"), noise: normal1, cells: 10, iterations: 200, seed: 21 }, 2 * mde, 5);
    assert.ok(r.power !== null && r.power >= 0.8, `power ${r.power} at ${(2 * mde * 100).toFixed(2)}%`);
    assert.equal(r.wrongSignRate, 0);
  });

  it("the same design does not find an effect of MDE / 3 (power is not free)", () => {
    const r = simulateEffect({ design: session("ABBA"), noise: normal1, cells: 10, iterations: 200, seed: 22 }, mde / 3, 5);
    assert.ok(r.power !== null && r.power < 0.2, `power ${r.power}`);
  });

  it("simulateDesign reports FPR and power at 2/5/10%, increasing with the effect", () => {
    const r = simulateDesign({ design: session("ABBA"), noise: { ...normal1, runCv: 0.03 }, cells: 10, iterations: 100, seed: 23 });
    assert.deepEqual(
      r.power.map((p) => p.effect),
      [0.02, 0.05, 0.1],
    );
    const pw = r.power.map((p) => p.power ?? -1);
    assert.ok(pw[0]! <= pw[1]! && pw[1]! <= pw[2]!, pw.join(" "));
    assert.ok(pw[2]! > 0.9, `power at 10%: ${pw[2]}`);
    assert.ok(r.fprPerMatrix <= 0.1);
  });
});
