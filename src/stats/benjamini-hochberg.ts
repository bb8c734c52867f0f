/**
 * Benjamini–Hochberg adjusted p-values (q values), in input order:
 * q_(i) = min over j ≥ i of p_(j)·m/j, capped at 1 (as R's p.adjust(method = "BH")).
 * NaN p-values count in m and are treated as 1 (conservative).
 */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const ps = pValues.map((p) => (Number.isNaN(p) ? 1 : p));
  const order = ps.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p);
  const q = new Array<number>(m).fill(1);
  let running = 1;
  for (let k = m - 1; k >= 0; k--) {
    const e = order[k]!;
    running = Math.min(running, (e.p * m) / (k + 1));
    q[e.i] = Math.min(1, running);
  }
  return q;
}
