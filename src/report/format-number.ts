/** Numbers the way the seed writes them: 111.9k, 1113.8k, 3710. */
export function formatQuantity(v: number): string {
  if (!Number.isFinite(v)) return "n/a";
  const a = Math.abs(v);
  if (a >= 10_000_000) return `${(v / 1e6).toFixed(1)}M`;
  if (a >= 10_000) return `${(v / 1e3).toFixed(1)}k`;
  if (a >= 100) return v.toFixed(0);
  return v.toPrecision(3);
}

export function formatRatio(r: number): string {
  if (!Number.isFinite(r)) return "n/a";
  return r >= 10 ? `${r.toFixed(1)}x` : r >= 1.995 ? `${r.toFixed(2)}x` : `${r.toFixed(3)}x`;
}

/** Signed percent change from a ratio: 1.031 → "+3.1%". */
export function formatChange(ratio: number, digits = 1): string {
  if (!Number.isFinite(ratio)) return "n/a";
  const p = (ratio - 1) * 100;
  return `${p >= 0 ? "+" : ""}${p.toFixed(digits)}%`;
}

export function formatSize(bytes: number): string {
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KB`;
  return `${bytes} B`;
}

/**
 * The minimum detectable effects of a matrix (in percent) as one range:
 * "40.9%", "4.1% to 9.8%", ">100%". Ends that print alike are said once, so
 * never ">100% to >100%". Null when no cell has one.
 */
export function formatMdeRange(mdePercents: readonly number[]): string | null {
  const finite = mdePercents.filter(Number.isFinite);
  if (finite.length === 0) return null;
  const pct = (x: number) => (x > 100 ? ">100%" : `${x.toFixed(1)}%`);
  const lo = pct(Math.min(...finite));
  const hi = pct(Math.max(...finite));
  return lo === hi ? lo : `${lo} to ${hi}`;
}
