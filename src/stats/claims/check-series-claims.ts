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
  /** The comparison the claim was held against, when the job had more than one ("candidate -> busy_read=50"). */
  against?: string;
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
  return checkClaimsAgainst(text, [{ cmp, cells }], options);
}

/**
 * The claims against several comparisons of one job (base -> candidate, then each arm against
 * the plain candidate): each claim is held against the first comparison it maps to; a claim
 * that maps to none is "not measured (variants differ)", explained by the first comparison.
 */
export function checkClaimsAgainst(
  text: string,
  comparisons: readonly { cmp: Comparison; cells: readonly MeasuredCell[] }[],
  options: { relativeTolerance?: number } = {},
): SeriesClaimCheck[] {
  const claims = parseClaims(text);
  return claims.map((claim): SeriesClaimCheck => {
    const mapped = comparisons.find((c) => mapClaim(claim, c.cmp).ok);
    if (!mapped) {
      const first = comparisons[0] ? mapClaim(claim, comparisons[0].cmp) : { ok: false as const, detail: "nothing was compared" };
      const detail = first.ok ? "" : first.detail;
      const more = comparisons.length > 1 ? ` (or ${comparisons.slice(1).map((c) => `${c.cmp.a} -> ${c.cmp.b}`).join(", ")})` : "";
      return { claim, verdict: "not measured", cell: null, gap: null, detail: `${detail}${more}`, notMeasuredBecause: "variants differ" };
    }
    const [c] = checkClaims([claim], mapped.cells, options);
    const check = c as ClaimCheck;
    const against = comparisons.length > 1 ? { against: `${mapped.cmp.a} -> ${mapped.cmp.b}` } : {};
    return { ...check, ...against, notMeasuredBecause: check.verdict === "not measured" ? "no cell" : null };
  });
}
