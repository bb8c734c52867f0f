import { normalCdf } from "./distributions.ts";

export interface MannWhitneyResult {
  /** U statistic of y against x: the number of (x, y) pairs with y > x, ties counting ½. */
  u: number;
  /** Two-sided p-value. */
  pValue: number;
  method: "exact" | "normal";
}

/** Midranks of the pooled values, plus the tie-group sizes. */
function midranks(values: readonly number[]): { ranks: number[]; ties: number[] } {
  const idx = values.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v);
  const ranks = new Array<number>(values.length).fill(0);
  const ties: number[] = [];
  let k = 0;
  while (k < idx.length) {
    let j = k;
    while (j + 1 < idx.length && idx[j + 1]!.v === idx[k]!.v) j++;
    const r = (k + j + 2) / 2;
    for (let t = k; t <= j; t++) ranks[idx[t]!.i] = r;
    if (j > k) ties.push(j - k + 1);
    k = j + 1;
  }
  return { ranks, ties };
}

/** P(U ≤ u) under H0 for sizes n, m without ties, by the counting recursion. */
function exactCdf(u: number, n: number, m: number): number {
  const maxU = n * m;
  // f[i][j] is the count distribution of U for sizes (i, j), as an array over u.
  let prev: number[][] = [];
  for (let i = 0; i <= n; i++) {
    const cur: number[][] = [];
    for (let j = 0; j <= m; j++) {
      const arr = new Array<number>(i * j + 1).fill(0);
      if (i === 0 || j === 0) arr[0] = 1;
      else {
        const a = prev[j]!; // (i − 1, j)
        const b = cur[j - 1]!; // (i, j − 1)
        // Largest value is a y: it exceeds all i x's, contributing i to U(y > x).
        for (let v = 0; v < b.length; v++) arr[v + i] = (arr[v + i] ?? 0) + b[v]!;
        // Largest value is an x: it exceeds every y, contributing 0 to U(y > x).
        for (let v = 0; v < a.length; v++) arr[v] = (arr[v] ?? 0) + a[v]!;
      }
      cur.push(arr);
    }
    prev = cur;
  }
  const dist = prev[m]!;
  let total = 0;
  let below = 0;
  for (let v = 0; v <= maxU; v++) {
    total += dist[v]!;
    if (v <= u) below += dist[v]!;
  }
  return below / total;
}

/**
 * Mann–Whitney U (Wilcoxon rank-sum) test of y against x. Returns null below `minPerSide`
 * (default 5: with 3 per side the best two-sided p is 0.10, STATISTICS.md). Exact distribution
 * when there are no ties and n·m ≤ 625; otherwise the normal approximation with tie correction
 * and continuity correction (as R's wilcox.test, correct = TRUE).
 */
export function mannWhitney(x: readonly number[], y: readonly number[], minPerSide = 5): MannWhitneyResult | null {
  const n = x.length;
  const m = y.length;
  if (n < minPerSide || m < minPerSide) return null;
  const { ranks, ties } = midranks([...x, ...y]);
  let ry = 0;
  for (let k = n; k < n + m; k++) ry += ranks[k]!;
  const u = ry - (m * (m + 1)) / 2;
  const mu = (n * m) / 2;
  if (ties.length === 0 && n * m <= 625) {
    const lower = Math.min(u, n * m - u);
    return { u, pValue: Math.min(1, 2 * exactCdf(lower, n, m)), method: "exact" };
  }
  const big = n + m;
  const tieSum = ties.reduce((s, t) => s + t * t * t - t, 0);
  const sigma = Math.sqrt(((n * m) / 12) * (big + 1 - tieSum / (big * (big - 1))));
  if (sigma === 0) return { u, pValue: 1, method: "normal" };
  const dev = Math.abs(u - mu);
  const z = Math.max(0, dev - 0.5) / sigma;
  return { u, pValue: Math.min(1, 2 * (1 - normalCdf(z))), method: "normal" };
}
