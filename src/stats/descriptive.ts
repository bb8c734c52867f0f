/** Descriptive statistics on plain number arrays. Empty input gives NaN. */

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample variance (n − 1 denominator); NaN below 2 values. */
export function variance(xs: readonly number[]): number {
  if (xs.length < 2) return Number.NaN;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return s / (xs.length - 1);
}

export function sd(xs: readonly number[]): number {
  return Math.sqrt(variance(xs));
}

/** Coefficient of variation: sample sd / mean. */
export function cv(xs: readonly number[]): number {
  return sd(xs) / mean(xs);
}

export function geometricMean(xs: readonly number[]): number {
  return Math.exp(mean(xs.map(Math.log)));
}

/** Quantile with linear interpolation between order statistics (R type 7, the R/NumPy default). */
export function quantile(xs: readonly number[], p: number): number {
  if (xs.length === 0 || !(p >= 0 && p <= 1)) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = (s.length - 1) * p;
  const lo = Math.floor(h);
  const a = s[lo]!;
  const b = s[Math.min(lo + 1, s.length - 1)]!;
  return a + (h - lo) * (b - a);
}

export function median(xs: readonly number[]): number {
  return quantile(xs, 0.5);
}
