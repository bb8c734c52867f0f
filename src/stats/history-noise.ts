import { mean, median } from "./descriptive.ts";

/** The machine noise a history simulation draws from, estimated from a real series of runs. */
export interface HistoryNoise {
  /** Run-to-run white noise (sd of log values) once the machine's level is taken out. */
  cv: number;
  /** Stationary sd of the machine's level (log scale): drift that wanders and comes back. */
  levelSd: number;
  /** Correlation of the level from one run to the next (AR(1)); 0 when no drift was seen. */
  levelCorr: number;
  /** Fraction of runs in the slow mode (below slowModeRatio × the median). */
  slowRate: number;
  /** A slow run's value as a fraction of the median (null when none was seen). */
  slowDepth: number | null;
  runs: number;
}

function autocovariance(xs: readonly number[], lag: number): number {
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i + lag < xs.length; i++) s += (xs[i]! - m) * (xs[i + lag]! - m);
  return s / xs.length;
}

/**
 * Split a series of runs (in time order) into white noise, drift and slow mode. Slow runs are
 * counted and set aside first (analyze-cell's slow-mode rule). The rest, on log scale, is taken
 * as an AR(1) level plus white noise: autocovariances γ(k) = s²ρ^k (k ≥ 1) give the level's
 * correlation ρ and sd s, and γ(0) − s² the white noise. A random walk would be simpler, but the
 * level here wanders and comes back (FACTS.md: 18% in 15 minutes, not 18% more every 15 minutes),
 * and a random walk extrapolated over a 60-tip history would drift without bound.
 */
export function estimateHistoryNoise(values: readonly number[], slowModeRatio = 0.6): HistoryNoise {
  if (values.length < 4 || values.some((v) => !(v > 0))) throw new RangeError("need at least 4 positive runs");
  const med = median(values);
  const slow = values.filter((v) => v < slowModeRatio * med);
  const logs = values.filter((v) => v >= slowModeRatio * med).map(Math.log);
  const g0 = autocovariance(logs, 0);
  const lags = Math.max(2, Math.min(8, Math.floor(logs.length / 4)));
  const g = Array.from({ length: lags }, (_, k) => autocovariance(logs, k + 1));
  // Least squares of γ(k) ≈ s²ρ^k over lags 1..K on a grid of ρ: steadier than γ(2)/γ(1) alone.
  let levelCorr = 0;
  let levelVar = 0;
  let bestErr = g.reduce((a, x) => a + x * x, 0);
  for (let i = 1; i <= 99; i++) {
    const rho = i / 100;
    const pw = g.map((_, k) => rho ** (k + 1));
    const s2 = Math.max(0, g.reduce((a, x, k) => a + x * pw[k]!, 0) / pw.reduce((a, x) => a + x * x, 0));
    const err = g.reduce((a, x, k) => a + (x - s2 * pw[k]!) ** 2, 0);
    if (err < bestErr) {
      bestErr = err;
      levelCorr = rho;
      levelVar = Math.min(g0, s2);
    }
  }
  return {
    cv: Math.sqrt(Math.max(0, g0 - levelVar)),
    levelSd: Math.sqrt(levelVar),
    levelCorr,
    slowRate: slow.length / values.length,
    slowDepth: slow.length > 0 ? mean(slow.map((v) => v / med)) : null,
    runs: values.length,
  };
}
