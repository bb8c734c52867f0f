import type { MatrixCellAnalysis } from "./analyze-matrix.ts";

export interface RoundsPolicy {
  roundsSoFar: number;
  maxRounds: number;
  /** Rounds per side to add when extending (STATISTICS.md: 4). */
  step: number;
}

export interface NextRoundsDecision {
  continue: boolean;
  /** Keys of the cells to extend (the inconclusive ones) — empty when stopping. */
  extend: string[];
  /** Rounds per side after the extension (= roundsSoFar when stopping). */
  nextRounds: number;
  reason: string;
}

/**
 * Adaptive rounds: extend the inconclusive cells by `step` rounds per side, up to `maxRounds`.
 * Stop as soon as every cell is decided (improvement, regression, no change — or noisy,
 * which more rounds of the same noise do not fix) or the cap is reached.
 */
export function nextRoundsDecision(analyses: readonly MatrixCellAnalysis[], policy: RoundsPolicy): NextRoundsDecision {
  const open = analyses.filter((c) => c.analysis.verdict === "inconclusive").map((c) => c.key);
  if (open.length === 0) {
    return { continue: false, extend: [], nextRounds: policy.roundsSoFar, reason: "every cell decided" };
  }
  if (policy.roundsSoFar >= policy.maxRounds) {
    return {
      continue: false,
      extend: [],
      nextRounds: policy.roundsSoFar,
      reason: `cap of ${policy.maxRounds} rounds/side reached with ${open.length} cell(s) inconclusive`,
    };
  }
  const nextRounds = Math.min(policy.maxRounds, policy.roundsSoFar + Math.max(1, policy.step));
  return {
    continue: true,
    extend: open,
    nextRounds,
    reason: `${open.length} cell(s) inconclusive: extend to ${nextRounds} rounds/side`,
  };
}
