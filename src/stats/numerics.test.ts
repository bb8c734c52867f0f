import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { benjaminiHochberg } from "./benjamini-hochberg.ts";
import { createRng, hashSeed } from "../domain/create-rng.ts";
import { cv, geometricMean, mean, quantile, sd, variance } from "./descriptive.ts";
import {
  logGamma,
  normalCdf,
  normalQuantile,
  regularizedIncompleteBeta,
  studentTCdf,
  studentTQuantile,
  studentTTwoSidedP,
} from "./distributions.ts";
import { mannWhitney } from "./mann-whitney.ts";
import { minimumDetectableEffect } from "./minimum-detectable-effect.ts";
import { confidenceInterval, pairedT, welchT } from "./t-interval.ts";

const close = (actual: number, expected: number, tol: number, what = "") =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} vs ${expected} (tol ${tol})`);

describe("descriptive", () => {
  it("mean, variance, sd, cv, geometric mean", () => {
    const xs = [2, 4, 4, 4, 5, 5, 7, 9];
    close(mean(xs), 5, 1e-12);
    close(variance(xs), 32 / 7, 1e-12);
    close(sd(xs), Math.sqrt(32 / 7), 1e-12);
    close(cv(xs), Math.sqrt(32 / 7) / 5, 1e-12);
    close(geometricMean([1, 10, 100]), 10, 1e-9);
    assert.ok(Number.isNaN(variance([1])));
  });
  it("quantile is R type 7", () => {
    const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    close(quantile(xs, 0.25), 3.25, 1e-12);
    close(quantile(xs, 0.9), 9.1, 1e-12);
    close(quantile([5, 1, 3], 0.5), 3, 1e-12);
  });
});

describe("distributions (values from R)", () => {
  it("log gamma", () => {
    close(logGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-12);
    close(logGamma(10), Math.log(362880), 1e-10);
    close(logGamma(2.5), Math.log(1.329340388179137), 1e-12);
  });
  it("incomplete beta", () => {
    close(regularizedIncompleteBeta(0.5, 2, 3), 0.6875, 1e-12);
    close(regularizedIncompleteBeta(0.2, 0.5, 0.5), (2 / Math.PI) * Math.asin(Math.sqrt(0.2)), 1e-12);
  });
  it("normal cdf and quantile", () => {
    close(normalCdf(1.96), 0.9750021048517795, 1e-12);
    close(normalCdf(-3), 0.0013498980316301, 1e-14);
    close(normalQuantile(0.975), 1.959963984540054, 1e-9);
    close(normalQuantile(0.995), 2.575829303548901, 1e-9);
    close(normalQuantile(0.8), 0.8416212335729143, 1e-9);
    close(normalQuantile(1e-10), -6.361340902404056, 1e-7);
  });
  it("Student t quantile", () => {
    close(studentTQuantile(0.975, 5), 2.570582, 1e-6, "qt(.975,5)");
    close(studentTQuantile(0.995, 10), 3.169273, 1e-6, "qt(.995,10)");
    close(studentTQuantile(0.8, 10), 0.8790578, 1e-6, "qt(.8,10)");
    close(studentTQuantile(0.975, 1), 12.7062047, 1e-6, "qt(.975,1)");
    close(studentTQuantile(0.95, 30), 1.697261, 1e-6, "qt(.95,30)");
    close(studentTQuantile(0.9999, 3), 22.20374, 1e-4, "qt(.9999,3)");
    close(studentTQuantile(0.025, 5), -2.570582, 1e-6, "qt(.025,5)");
    close(studentTQuantile(0.975, 1e9), 1.959964, 1e-6, "qt(.975, huge df)");
  });
  it("Student t cdf round-trips and matches R", () => {
    close(studentTCdf(2, 3), 0.930337, 1e-6, "pt(2,3)");
    close(studentTCdf(-1, 7), 0.1753083, 1e-6, "pt(-1,7)");
    close(studentTTwoSidedP(2.570582, 5), 0.05, 1e-6);
    for (const df of [1.5, 3, 7.3, 24]) {
      for (const p of [0.6, 0.9, 0.99, 0.999]) close(studentTCdf(studentTQuantile(p, df), df), p, 1e-10, `df ${df} p ${p}`);
    }
  });
});

describe("t intervals", () => {
  it("Welch df and t on a hand-computed example", () => {
    // x: var 5/3, n 4; y: var 14, n 6. se² = 5/12 + 7/3 = 2.75;
    // df = 2.75² / ((5/12)²/3 + (7/3)²/5) = (121/16)/(22293/19440) = 6.5946711…
    const w = welchT([1, 2, 3, 4], [2, 4, 6, 8, 10, 12]);
    close(w.estimate, 4.5, 1e-12);
    close(w.se, Math.sqrt(2.75), 1e-12);
    close(w.df, (121 / 16) / (22293 / 19440), 1e-12);
    close(w.df, 6.594671, 1e-6);
    close(w.t, 4.5 / Math.sqrt(2.75), 1e-12);
  });
  it("paired t: CI of a known sample", () => {
    const p = pairedT([0, 1, 2, 1, 1]);
    close(p.se, Math.sqrt(0.5 / 5), 1e-12);
    assert.equal(p.df, 4);
    // mean 3, var 2.5, n 5: CI = 3 ± qt(.975,4)·√(2.5/5), qt(.975,4) = 2.776445
    const d = [1, 2, 3, 4, 5];
    const ci2 = confidenceInterval(pairedT(d), 0.95);
    close(ci2[0], 3 - 2.776445 * Math.sqrt(2.5 / 5), 1e-6);
    close(ci2[1], 3 + 2.776445 * Math.sqrt(2.5 / 5), 1e-6);
  });
});

describe("Benjamini–Hochberg", () => {
  it("reproduces the 15 p-values of Benjamini & Hochberg (1995): 4 rejected at 0.05", () => {
    const p = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459, 0.324, 0.4262, 0.5719, 0.6528, 0.759, 1];
    const q = benjaminiHochberg(p);
    assert.equal(q.filter((x) => x <= 0.05).length, 4);
    // R: p.adjust(p, "BH")
    const expected = [0.0015, 0.003, 0.0095, 0.035625, 0.0603, 0.06385714, 0.06385714, 0.0645, 0.0765, 0.486, 0.5811818, 0.714875, 0.7532308, 0.8132143, 1];
    q.forEach((x, i) => {
      close(x, expected[i]!, 1e-7, `q[${i}]`);
    });
  });
  it("keeps input order", () => {
    const q = benjaminiHochberg([0.04, 0.01, 0.03]);
    close(q[0]!, 0.04, 1e-12);
    close(q[1]!, 0.03, 1e-12);
    close(q[2]!, 0.04, 1e-12);
  });
});

describe("Mann–Whitney", () => {
  it("exact: 1:5 vs 6:10 gives p = 2/252 (R: 0.007937)", () => {
    const r = mannWhitney([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])!;
    assert.equal(r.method, "exact");
    assert.equal(r.u, 25);
    close(r.pValue, 2 / 252, 1e-12);
  });
  it("exact: one inversion gives p = 4/252", () => {
    const r = mannWhitney([1, 2, 3, 4, 6], [5, 7, 8, 9, 10])!;
    assert.equal(r.u, 24);
    close(r.pValue, 4 / 252, 1e-12);
  });
  it("null below 5 per side", () => {
    assert.equal(mannWhitney([1, 2, 3], [4, 5, 6]), null);
  });
  it("ties: normal approximation with tie and continuity correction", () => {
    // pooled [1,2,2,3,3 | 3,4,4,5,5]: ranks 1,2.5,2.5,5,5 | 5,7.5,7.5,9.5,9.5 → U(y) = 39 − 15 = 24
    // ties: 2 (×2), 3 (×3), 4 (×2), 5 (×2): Σ(t³−t) = 6+24+6+6 = 42
    // σ² = 25/12·(11 − 42/90) = 21.9444…; z = (24 − 12.5 − 0.5)/σ = 2.348… ; p = 0.018866
    const r = mannWhitney([1, 2, 2, 3, 3], [3, 4, 4, 5, 5])!;
    assert.equal(r.method, "normal");
    assert.equal(r.u, 24);
    close(r.pValue, 2 * (1 - normalCdf(11 / Math.sqrt((25 / 12) * (11 - 42 / 90)))), 1e-12);
    close(r.pValue, 0.018866, 1e-5);
  });
});

describe("minimum detectable effect", () => {
  it("matches STATISTICS.md: ≈1.2% at CV 0.5%, ≈2.3% at CV 1% (6 rounds/side, α 0.01, 80% power)", () => {
    close(minimumDetectableEffect({ cv: 0.005, roundsPerSide: 6 }), 0.012, 0.001);
    close(minimumDetectableEffect({ cv: 0.01, roundsPerSide: 6 }), 0.023, 0.001);
  });
  it("shrinks with more rounds", () => {
    assert.ok(minimumDetectableEffect({ cv: 0.01, roundsPerSide: 16 }) < minimumDetectableEffect({ cv: 0.01, roundsPerSide: 6 }));
  });
});

describe("seeded rng", () => {
  it("is deterministic and roughly standard normal", () => {
    const a = createRng(42);
    const b = createRng(42);
    for (let i = 0; i < 5; i++) assert.equal(a.next(), b.next());
    const r = createRng(hashSeed(1, 2));
    const xs = Array.from({ length: 20000 }, () => r.normal());
    close(mean(xs), 0, 0.03);
    close(sd(xs), 1, 0.03);
    assert.notEqual(hashSeed(1, 2), hashSeed(2, 1));
  });
});
