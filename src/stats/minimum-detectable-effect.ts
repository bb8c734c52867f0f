import { studentTQuantile } from "./distributions.ts";

/**
 * Minimum detectable effect on the log scale for an estimator with standard error `se` and
 * `df` degrees of freedom: (t_{1−α/2,df} + t_{power,df})·se, returned as a fraction (e^x − 1).
 */
export function mdeFromSe(se: number, df: number, alpha: number, power: number): number {
  if (!(se >= 0) || !(df > 0)) return Number.NaN;
  const k = studentTQuantile(1 - alpha / 2, df) + studentTQuantile(power, df);
  return Math.expm1(k * se);
}

export interface MdePlan {
  /** Round-level coefficient of variation (e.g. 0.01 for 1%). */
  cv: number;
  roundsPerSide: number;
  /** Default 0.01, as in STATISTICS.md's expected figures. */
  alpha?: number;
  /** Default 0.8. */
  power?: number;
}

/**
 * Planning MDE for two independent sides of n rounds each with round-level CV `cv`:
 * se = cv·√(2/n), df = 2n − 2. This is the formula behind STATISTICS.md's
 * "≈ 1.2% at CV 0.5%, ≈ 2.3% at CV 1% (6 rounds/side, α = 0.01)". A paired analysis with
 * no between-round correlation has the same se but only n − 1 df (≈ 2.9% at CV 1%, n = 6);
 * it gains only when adjacent rounds share drift.
 */
export function minimumDetectableEffect(plan: MdePlan): number {
  const n = plan.roundsPerSide;
  if (n < 2) return Number.NaN;
  return mdeFromSe(plan.cv * Math.sqrt(2 / n), 2 * n - 2, plan.alpha ?? 0.01, plan.power ?? 0.8);
}
