import type { Claim } from "./parse-claims.ts";

/** One measured cell: ratio of the compared variants with its 95% interval. */
export interface MeasuredCell {
  test: string;
  topology: string | null;
  size: number | null;
  ratio: number;
  ci95: readonly [number, number];
  /**
   * Which comparison the ratio is (e.g. "splice + busy-poll"). When given,
   * only claims whose variantTo names the same variant match; when absent,
   * test/topology/size decide alone.
   */
  variant?: string;
}

export type ClaimVerdict = "consistent" | "not reproduced" | "not measured";

export interface ClaimCheck {
  claim: Claim;
  verdict: ClaimVerdict;
  cell: MeasuredCell | null;
  /** claimed ratio / the CI bound it lies beyond (>1: claim above the CI, <1: below); null unless not reproduced. */
  gap: number | null;
  detail: string;
}

export interface CheckClaimsOptions {
  /**
   * Relative tolerance: the interval is widened to [lo·(1−t), hi·(1+t)]
   * before the claimed ratio is compared with it (default 0). Claims are
   * often measured on other hardware; 0.1 accepts a 10% difference.
   */
  relativeTolerance?: number;
}

const norm = (s: string): string => s.toLowerCase().replace(/\s+/g, " ").trim();
const x = (n: number): string => `${n.toFixed(2)}x`;

function matches(claim: Claim, cell: MeasuredCell): boolean {
  if (norm(cell.test) !== norm(claim.test)) return false;
  if (cell.topology !== claim.topology) return false;
  if (cell.size !== claim.size) return false;
  if (cell.variant !== undefined && norm(cell.variant) !== norm(claim.variantTo ?? "")) return false;
  return true;
}

/** Compare each claim's ratio with the measured cell of the same test, topology, size (and variant). */
export function checkClaims(
  claims: readonly Claim[],
  cells: readonly MeasuredCell[],
  options: CheckClaimsOptions = {},
): ClaimCheck[] {
  const tol = options.relativeTolerance ?? 0;
  return claims.map((claim): ClaimCheck => {
    const cell = cells.find((c) => matches(claim, c)) ?? null;
    const where = `${claim.test} ${claim.topology ?? "?"} ${claim.size === null ? "?" : `${claim.size} B`}`;
    if (!cell) return { claim, verdict: "not measured", cell: null, gap: null, detail: `no measured cell for ${where}` };
    const [lo, hi] = cell.ci95;
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) {
      return { claim, verdict: "not measured", cell, gap: null, detail: `measured cell for ${where} has no valid interval` };
    }
    const low = lo * (1 - tol);
    const high = hi * (1 + tol);
    const measured = `measured ${x(cell.ratio)} (95% CI ${x(lo)}–${x(hi)})`;
    const claimed = `claimed ${x(claim.ratio)}`;
    if (claim.ratio >= low && claim.ratio <= high) {
      const how = claim.ratio >= lo && claim.ratio <= hi ? "inside the CI" : `within ${Math.round(tol * 100)}% of the CI`;
      return { claim, verdict: "consistent", cell, gap: null, detail: `${claimed}, ${measured}: ${how}` };
    }
    const above = claim.ratio > high;
    const bound = above ? hi : lo;
    const gap = claim.ratio / bound;
    const by = above
      ? `${x(gap)} the CI upper bound (${Math.round((gap - 1) * 100)}% above)`
      : `${Math.round((1 - gap) * 100)}% below the CI lower bound (measured better than claimed)`;
    return { claim, verdict: "not reproduced", cell, gap, detail: `${claimed}, ${measured}: claim is ${by}` };
  });
}
