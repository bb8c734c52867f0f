import assert from "node:assert/strict";
import { test } from "node:test";
import { createRng } from "../domain/create-rng.ts";
import { eDivisive, firstPassPValue, OTAVA_SETTINGS, pooledTTest } from "./e-divisive.ts";

function noisy(n: number, seed: number, level: (i: number) => number, cv = 0.01): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => level(i) * (1 + cv * rng.normal()));
}

/** Matteson–James q̂(X, Y) straight from its definition (α = 1). */
function qhatBrute(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  const m = y.length;
  let cross = 0;
  for (const a of x) for (const b of y) cross += Math.abs(a - b);
  let wx = 0;
  for (let i = 0; i < n; i++) for (let k = i + 1; k < n; k++) wx += Math.abs(x[i]! - x[k]!);
  let wy = 0;
  for (let i = 0; i < m; i++) for (let k = i + 1; k < m; k++) wy += Math.abs(y[i]! - y[k]!);
  return (2 / (m + n)) * cross - (n > 1 ? ((2 * m) / ((m + n) * (n - 1))) * wx : 0) - (m > 1 ? ((2 * n) / ((m + n) * (m - 1))) * wy : 0);
}

test("Otava's published settings: window 50, p < 0.001, no magnitude floor; first pass 10× looser", () => {
  assert.deepEqual(OTAVA_SETTINGS, { windowLen: 50, maxPValue: 0.001, minMagnitude: 0 });
  assert.equal(firstPassPValue(0.001), 0.01);
  assert.equal(firstPassPValue(0.1), 0.2);
  assert.equal(firstPassPValue(0.6), 0.6);
});

test("pooled t-test: a textbook pair of samples", () => {
  // Means 2 and 5, both variances 2.5 (n = 5): t = 3 / sqrt(2.5 · 0.4) = 3, df 8, two-sided p ≈ 0.01707.
  const r = pooledTTest([0, 1, 2, 3, 4], [3, 4, 5, 6, 7]);
  assert.equal(r.df, 8);
  assert.ok(Math.abs(r.t - 3) < 1e-12);
  assert.ok(Math.abs(r.p - 0.01707) < 1e-4, String(r.p));
  assert.equal(pooledTTest([1], [2]).p, 1);
  assert.equal(pooledTTest([1, 1, 1], [2, 2, 2]).p, 0);
});

test("a 5% step in 1% noise is found at its index, with its means and change", () => {
  const s = noisy(60, 1, (i) => (i >= 30 ? 105 : 100));
  const cps = eDivisive(s);
  assert.equal(cps.length, 1);
  const cp = cps[0]!;
  assert.equal(cp.index, 30);
  assert.equal(cp.nBefore, 30);
  assert.equal(cp.nAfter, 30);
  assert.ok(Math.abs(cp.relativeChange - 0.05) < 0.01, String(cp.relativeChange));
  assert.ok(cp.pValue < 1e-10);
});

test("two steps, one beyond the first window, are both found at their indices", () => {
  const s = noisy(120, 2, (i) => (i >= 80 ? 90 : i >= 25 ? 110 : 100));
  assert.deepEqual(
    eDivisive(s).map((c) => c.index),
    [25, 80],
  );
});

test("a constant series has no change point; flat 1% noise rarely has one (the t-test after the best split is optimistic)", () => {
  assert.deepEqual(eDivisive(Array(40).fill(7)), []);
  let withChange = 0;
  for (let seed = 1; seed <= 200; seed++) if (eDivisive(noisy(60, seed, () => 100)).length > 0) withChange++;
  assert.ok(withChange <= 6, `${withChange} of 200 flat series had a change point`);
});

test("a single outlier inside the history, even a deep one, is not a change point", () => {
  for (const at of [1, 5, 30, 50]) {
    const s = noisy(60, 3, () => 100);
    s[at] = 50;
    assert.deepEqual(eDivisive(s), [], `outlier at ${at}`);
  }
});

test("an outlier second to last is taken for a change (Otava's pooled t-test with 2 points on a side): the A/B chain is what tells them apart", () => {
  const s = noisy(60, 3, () => 100);
  s[58] = 50;
  assert.deepEqual(
    eDivisive(s).map((c) => c.index),
    [58],
  );
});

test("the first split is the q̂ maximum of the definition, over every split and right end", () => {
  const s = noisy(24, 4, (i) => (i >= 9 ? 103 : 100), 0.02);
  let best = { index: -1, q: -Infinity };
  for (let tau = 1; tau < s.length; tau++) {
    for (let kappa = tau + 1; kappa <= s.length; kappa++) {
      const q = qhatBrute(s.slice(0, tau), s.slice(tau, kappa));
      if (q > best.q) best = { index: tau, q };
    }
  }
  const cps = eDivisive(s, { maxPValue: 0.5 });
  const first = cps.find((c) => c.index === best.index);
  assert.ok(first, `split ${best.index} not among ${cps.map((c) => c.index)}`);
  assert.ok(Math.abs(first.qhat - best.q) < 1e-9);
});

test("deterministic: the same series gives the same answer, run after run", () => {
  const s = noisy(90, 5, (i) => (i >= 40 ? 97 : 100), 0.015);
  const a = JSON.stringify(eDivisive(s));
  for (let i = 0; i < 3; i++) assert.equal(JSON.stringify(eDivisive([...s])), a);
});

test("min magnitude drops a significant but small change", () => {
  const s = noisy(60, 6, (i) => (i >= 30 ? 102 : 100), 0.002);
  assert.equal(eDivisive(s).length, 1);
  assert.equal(eDivisive(s, { minMagnitude: 0.05 }).length, 0);
});

test("bad input is refused", () => {
  assert.throws(() => eDivisive([1, Number.NaN, 2]), RangeError);
  assert.throws(() => eDivisive([1, 2, 3], { windowLen: 1 }), RangeError);
});
