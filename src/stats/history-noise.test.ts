import assert from "node:assert/strict";
import { test } from "node:test";
import { createRng } from "../domain/create-rng.ts";
import { estimateHistoryNoise } from "./history-noise.ts";
import { batchHistory, simulateHistory } from "./simulate-history.ts";

/** An AR(1) level (sd `levelSd`, correlation `rho`) plus white noise `cv`, on log scale. */
function series(n: number, cv: number, levelSd: number, rho: number, seed: number): number[] {
  const rng = createRng(seed);
  let level = levelSd * rng.normal();
  return Array.from({ length: n }, () => {
    level = rho * level + levelSd * Math.sqrt(1 - rho * rho) * rng.normal();
    return 40000 * Math.exp(level + cv * rng.normal());
  });
}

test("white noise alone: the CV comes back and little of it is taken for drift", () => {
  const n = estimateHistoryNoise(series(2000, 0.03, 0, 0, 1));
  assert.ok(Math.abs(n.cv - 0.03) < 0.004, String(n.cv));
  assert.ok(n.levelSd < 0.01, String(n.levelSd));
  assert.equal(n.slowRate, 0);
  assert.equal(n.slowDepth, null);
});

test("a wandering level is split from the white noise", () => {
  const n = estimateHistoryNoise(series(4000, 0.02, 0.05, 0.9, 2));
  assert.ok(Math.abs(n.cv - 0.02) < 0.006, String(n.cv));
  assert.ok(Math.abs(n.levelSd - 0.05) < 0.012, String(n.levelSd));
  assert.ok(Math.abs(n.levelCorr - 0.9) < 0.05, String(n.levelCorr));
});

test("slow-mode runs are counted with their depth and kept out of the CV", () => {
  const values = series(400, 0.02, 0, 0, 3).map((v, i) => (i % 20 === 7 ? v * 0.3 : v));
  const n = estimateHistoryNoise(values);
  assert.equal(n.slowRate, 0.05);
  assert.ok(n.slowDepth !== null && Math.abs(n.slowDepth - 0.3) < 0.02);
  assert.ok(n.cv < 0.03, String(n.cv));
  assert.throws(() => estimateHistoryNoise([1, 2, 0]), RangeError);
});

const NOISE = { cv: 0.02, levelSd: 0.03, levelCorr: 0.9, slowRate: 0.02, slowDepth: 0.4, runs: 0 };

test("simulated histories are deterministic per seed and carry the effect in the step across the change", () => {
  const design = { tips: 30, rounds: 6 };
  assert.deepEqual(simulateHistory(NOISE, design, -0.1, 15, 7), simulateHistory(NOISE, design, -0.1, 15, 7));
  assert.notDeepEqual(simulateHistory(NOISE, design, -0.1, 15, 7), simulateHistory(NOISE, design, -0.1, 15, 8));
  const quiet = { ...NOISE, cv: 0.005, slowRate: 0 };
  const h = simulateHistory(quiet, design, -0.1, 15, 7);
  assert.equal(h.points[0]!.ratioToPrevious, null);
  assert.ok(Math.abs(h.points[15]!.ratioToPrevious!.ratio - 0.9) < 0.02);
  assert.ok(Math.abs(h.points[16]!.ratioToPrevious!.ratio - 1) < 0.02);
  const b = batchHistory(NOISE, design, -0.05, 3, 1);
  assert.ok(b.changeAt !== null && b.changeAt >= 10 && b.changeAt <= 20);
  assert.equal(batchHistory(NOISE, design, 0, 3, 1).changeAt, null);
});
