import { type ClaimCheck, checkClaims, type MeasuredCell } from "./check-claims.ts";
import { type Claim, parseClaims } from "./parse-claims.ts";

/**
 * The claim check of a report: the author's claims (cover letter and commit
 * messages) against our measured cells — but only where the claim compares
 * what we compared. A claim "baseline TCP vs splice + busy-poll" says nothing
 * about our "busy_read=0 vs busy_read=50" on one kernel, so it is "not
 * measured (variants differ)" rather than silently held against the wrong
 * ratio. The mapping is taken only when it is unambiguous:
 *  - the claim names both variants and they equal our A and B names
 *    (case, spaces and punctuation ignored), or
 *  - the claim names no variants (a before/after figure) and we compared
 *    the base kernel with the candidate kernel.
 */
export interface Comparison {
  a: string;
  b: string;
  /** True when A and B are the base and candidate kernels (before/after the series). */
  kernels: boolean;
}

export interface SeriesClaimCheck extends ClaimCheck {
  /** Why a claim was not compared: no cell of that test/topology/size, or other variants. */
  notMeasuredBecause: "no cell" | "variants differ" | null;
}

const norm = (s: string | null): string => (s ?? "").toLowerCase().replace(/[^a-z0-9]+/g, "");

export type ClaimMapping = { ok: true } | { ok: false; detail: string };

export function mapClaim(claim: Claim, cmp: Comparison): ClaimMapping {
  const from = claim.variantFrom;
  const to = claim.variantTo;
  if (from === null && to === null) {
    if (cmp.kernels) return { ok: true };
    return { ok: false, detail: `claim names no variants (before/after the series); we compared ${cmp.a} -> ${cmp.b} on one kernel` };
  }
  if (from !== null && to !== null && norm(from) === norm(cmp.a) && norm(to) === norm(cmp.b)) return { ok: true };
  return { ok: false, detail: `claim compares "${from ?? "?"}" -> "${to ?? "?"}"; we compared ${cmp.a} -> ${cmp.b}` };
}

export function checkSeriesClaims(
  text: string,
  cells: readonly MeasuredCell[],
  cmp: Comparison,
  options: { relativeTolerance?: number } = {},
): SeriesClaimCheck[] {
  const claims = parseClaims(text);
  return claims.map((claim): SeriesClaimCheck => {
    const m = mapClaim(claim, cmp);
    if (!m.ok) return { claim, verdict: "not measured", cell: null, gap: null, detail: m.detail, notMeasuredBecause: "variants differ" };
    const [c] = checkClaims([claim], cells, options);
    const check = c as ClaimCheck;
    return { ...check, notMeasuredBecause: check.verdict === "not measured" ? "no cell" : null };
  });
}
