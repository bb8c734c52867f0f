import { mean, variance } from "./descriptive.ts";
import { studentTQuantile, studentTTwoSidedP } from "./distributions.ts";

/** A location estimate with a Student t reference distribution. */
export interface TInterval {
  estimate: number;
  /** Standard error of the estimate. */
  se: number;
  df: number;
  t: number;
  /** Two-sided p-value against 0. */
  pValue: number;
}

function finish(estimate: number, se: number, df: number): TInterval {
  if (se === 0) {
    // Identical values: no spread to test against.
    return { estimate, se, df, t: estimate === 0 ? 0 : Math.sign(estimate) * Number.POSITIVE_INFINITY, pValue: estimate === 0 ? 1 : 0 };
  }
  const t = estimate / se;
  return { estimate, se, df, t, pValue: studentTTwoSidedP(t, df) };
}

/** One-sample / paired t over differences (df = n − 1). Needs ≥ 2 values. */
export function pairedT(diffs: readonly number[]): TInterval {
  const n = diffs.length;
  if (n < 2) return { estimate: mean(diffs), se: Number.NaN, df: Number.NaN, t: Number.NaN, pValue: Number.NaN };
  return finish(mean(diffs), Math.sqrt(variance(diffs) / n), n - 1);
}

/** Welch's unequal-variance t for mean(y) − mean(x), Welch–Satterthwaite df. Needs ≥ 2 per side. */
export function welchT(x: readonly number[], y: readonly number[]): TInterval {
  const estimate = mean(y) - mean(x);
  if (x.length < 2 || y.length < 2) return { estimate, se: Number.NaN, df: Number.NaN, t: Number.NaN, pValue: Number.NaN };
  const vx = variance(x) / x.length;
  const vy = variance(y) / y.length;
  const se2 = vx + vy;
  const denom = (vx * vx) / (x.length - 1) + (vy * vy) / (y.length - 1);
  // Both variances zero: df is undefined; use the pooled df (only matters for the p of a 0/0 case).
  const df = denom === 0 ? x.length + y.length - 2 : (se2 * se2) / denom;
  return finish(estimate, Math.sqrt(se2), df);
}

/** The two-sided confidence interval [lo, hi] at `level` (e.g. 0.95) on the estimate's scale. */
export function confidenceInterval(ti: TInterval, level: number): [number, number] {
  if (!(ti.se >= 0) || !(ti.df > 0)) return [Number.NaN, Number.NaN];
  const h = studentTQuantile(1 - (1 - level) / 2, ti.df) * ti.se;
  return [ti.estimate - h, ti.estimate + h];
}
