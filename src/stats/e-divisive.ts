import { mean, sd } from "./descriptive.ts";
import { studentTTwoSidedP } from "./distributions.ts";

/**
 * E-divisive means change-point detection with a deterministic significance test, as Apache
 * Otava (ex-Hunter, Fleming et al., "Hunter: Using Change Point Detection to Hunt for Performance
 * Regressions", ICPE 2023) publishes it, re-implemented from that description:
 *
 * 1. Split: slide a window of `windowLen` points by half a window. In each window, repeatedly
 *    take the split that maximises the energy statistic q̂ (Matteson & James 2014, α = 1) over
 *    the current segments and keep it while a two-sided Student t-test of the points on its two
 *    sides (up to the neighbouring splits) gives p ≤ the first-pass threshold (10 × maxPValue
 *    below 0.05). The union of all windows' splits are the weak change points.
 * 2. Merge: recompute every weak point's t-test against its neighbours over the whole series;
 *    drop the one with the largest p while any p ≥ maxPValue, then the one with the smallest
 *    magnitude while any magnitude ≤ minMagnitude, recomputing its neighbours after each drop.
 *
 * The t-test replaces the random permutation test of the original E-divisive, which is what
 * makes the result deterministic. O(w²) per candidate search in a window of w points.
 */

export interface EDivisiveOptions {
  /** Points per sliding window. Otava's default 50. */
  windowLen?: number;
  /** A change point's t-test p-value must be below this. Otava's default 0.001. */
  maxPValue?: number;
  /** A change point must move the mean by more than this fraction. Otava's default 0. */
  minMagnitude?: number;
}

export const OTAVA_SETTINGS: Required<EDivisiveOptions> = { windowLen: 50, maxPValue: 0.001, minMagnitude: 0 };

export interface EDivisiveChangePoint {
  /** Index of the first point after the change. */
  index: number;
  /** Energy statistic of the split when it was found in its window. */
  qhat: number;
  /** Points between the previous change point (or the start) and this one. */
  nBefore: number;
  /** Points between this change point and the next (or the end). */
  nAfter: number;
  meanBefore: number;
  meanAfter: number;
  sdBefore: number;
  sdAfter: number;
  /** Student t statistic (pooled variance) of after − before, and its degrees of freedom. */
  t: number;
  df: number;
  pValue: number;
  /** meanAfter / meanBefore − 1. */
  relativeChange: number;
  /** max(|after/before − 1|, |before/after − 1|), Otava's magnitude. */
  magnitude: number;
}

interface Split {
  index: number;
  qhat: number;
}

/** Student's two-sided t-test with pooled variance; p = 1 when there are too few points. */
export function pooledTTest(left: readonly number[], right: readonly number[]): { t: number; df: number; p: number } {
  const n = left.length;
  const m = right.length;
  const df = n + m - 2;
  if (n === 0 || m === 0 || df <= 0) return { t: 0, df: Math.max(df, 0), p: 1 };
  const diff = mean(right) - mean(left);
  const ssl = n > 1 ? sd(left) ** 2 * (n - 1) : 0;
  const ssr = m > 1 ? sd(right) ** 2 * (m - 1) : 0;
  const se = Math.sqrt(((ssl + ssr) / df) * (1 / n + 1 / m));
  if (se === 0) return diff === 0 ? { t: 0, df, p: 1 } : { t: diff > 0 ? Infinity : -Infinity, df, p: 0 };
  const t = diff / se;
  return { t, df, p: studentTTwoSidedP(t, df) };
}

/**
 * prefix[c * (w + 1) + b] = Σ_{i < b} |z_i − z_c| over the window z, so any sum of distances
 * from one point to a run of points is two lookups.
 */
function distancePrefix(z: readonly number[]): Float64Array {
  const w = z.length;
  const prefix = new Float64Array(w * (w + 1));
  for (let c = 0; c < w; c++) {
    let acc = 0;
    const row = c * (w + 1);
    for (let b = 0; b < w; b++) {
      acc += Math.abs(z[b]! - z[c]!);
      prefix[row + b + 1] = acc;
    }
  }
  return prefix;
}

/** The split τ of z[s, e) (with a free right end κ ≤ e) that maximises q̂(z[s, τ), z[τ, κ)). */
function bestSplit(prefix: Float64Array, w: number, s: number, e: number): Split | null {
  if (e - s < 2) return null;
  const dist = (a: number, b: number, c: number): number => prefix[c * (w + 1) + b]! - prefix[c * (w + 1) + a]!;
  let best: Split | null = null;
  let withinX = 0;
  for (let tau = s + 1; tau < e; tau++) {
    if (tau - 1 > s) withinX += dist(s, tau - 1, tau - 1);
    const n = tau - s;
    let cross = 0;
    let withinY = 0;
    for (let kappa = tau + 1; kappa <= e; kappa++) {
      const j = kappa - 1;
      cross += dist(s, tau, j);
      withinY += dist(tau, j, j);
      const m = kappa - tau;
      const q =
        (2 / (m + n)) * cross -
        (n > 1 ? ((2 * m) / ((m + n) * (n - 1))) * withinX : 0) -
        (m > 1 ? ((2 * n) / ((m + n) * (m - 1))) * withinY : 0);
      if (best === null || q > best.qhat) best = { index: tau, qhat: q };
    }
  }
  return best;
}

function statsAt(series: readonly number[], from: number, index: number, to: number, qhat: number): EDivisiveChangePoint {
  const left = series.slice(from, index);
  const right = series.slice(index, to);
  const { t, df, p } = pooledTTest(left, right);
  const meanBefore = mean(left);
  const meanAfter = mean(right);
  const fwd = meanBefore === 0 ? 0 : meanAfter / meanBefore - 1;
  const back = meanAfter === 0 ? 0 : meanBefore / meanAfter - 1;
  return {
    index,
    qhat,
    nBefore: left.length,
    nAfter: right.length,
    meanBefore,
    meanAfter,
    sdBefore: left.length > 1 ? sd(left) : 0,
    sdAfter: right.length > 1 ? sd(right) : 0,
    t,
    df,
    pValue: p,
    relativeChange: fwd,
    magnitude: Math.max(Math.abs(fwd), Math.abs(back)),
  };
}

/** Splits found in series[start, end) by the recursive E-divisive search, tested at `threshold`. */
function windowSplits(series: readonly number[], start: number, end: number, threshold: number): Split[] {
  const z = series.slice(start, end);
  const w = z.length;
  const prefix = distancePrefix(z);
  const found: Split[] = [];
  for (;;) {
    const bounds = [0, ...found.map((f) => f.index), w];
    let best: { split: Split; from: number; to: number } | null = null;
    for (let i = 0; i + 1 < bounds.length; i++) {
      const split = bestSplit(prefix, w, bounds[i]!, bounds[i + 1]!);
      if (split && (best === null || split.qhat > best.split.qhat)) best = { split, from: bounds[i]!, to: bounds[i + 1]! };
    }
    if (!best) break;
    const { p } = pooledTTest(z.slice(best.from, best.split.index), z.slice(best.split.index, best.to));
    if (!(p <= threshold)) break;
    found.push(best.split);
    found.sort((a, b) => a.index - b.index);
  }
  return found.map((f) => ({ index: f.index + start, qhat: f.qhat }));
}

function withStats(series: readonly number[], splits: readonly Split[]): EDivisiveChangePoint[] {
  return splits.map((s, i) => statsAt(series, i === 0 ? 0 : splits[i - 1]!.index, s.index, i + 1 < splits.length ? splits[i + 1]!.index : series.length, s.qhat));
}

/** Otava's first-pass threshold: looser, so the merge step has the weak points to choose from. */
export function firstPassPValue(maxPValue: number): number {
  if (maxPValue < 0.05) return maxPValue * 10;
  if (maxPValue < 0.5) return maxPValue * 2;
  return maxPValue;
}

/** Change points of a series, oldest first. Pure and deterministic. */
export function eDivisive(series: readonly number[], options: EDivisiveOptions = {}): EDivisiveChangePoint[] {
  const { windowLen, maxPValue, minMagnitude } = { ...OTAVA_SETTINGS, ...options };
  if (windowLen < 2) throw new RangeError("windowLen must be at least 2");
  if (series.some((v) => !Number.isFinite(v))) throw new RangeError("series values must be finite");
  const weakThreshold = firstPassPValue(maxPValue);
  const step = Math.max(1, Math.floor(windowLen / 2));
  const weak = new Map<number, Split>();
  let start = 0;
  while (start < series.length) {
    const end = Math.min(start + windowLen, series.length);
    const found = windowSplits(series, start, end, weakThreshold);
    for (const f of found) if (!weak.has(f.index)) weak.set(f.index, f);
    start = Math.max(found.at(-1)?.index ?? 0, start + step);
  }
  const splits = [...weak.values()].sort((a, b) => a.index - b.index);
  let points = withStats(series, splits);
  while (points.length > 0) {
    let weakest = points.reduce((a, b) => (b.pValue > a.pValue ? b : a));
    if (weakest.pValue < maxPValue) {
      weakest = points.reduce((a, b) => (b.magnitude < a.magnitude ? b : a));
      if (weakest.magnitude > minMagnitude) break;
    }
    const kept = points.filter((p) => p !== weakest);
    points = withStats(series, kept);
  }
  return points;
}
