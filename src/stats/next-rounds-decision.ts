import type { MatrixCellAnalysis } from "./analyze-matrix.ts";

export interface RoundsPolicy {
  roundsSoFar: number;
  maxRounds: number;
  /** Rounds per side to add when extending (STATISTICS.md: 4). */
  step: number;
}

export interface NextRoundsDecision {
  continue: boolean;
  /** Keys of the cells to extend (see nextRoundsDecision) — empty when stopping. */
  extend: string[];
  /** Rounds per side after the extension (= roundsSoFar when stopping). */
  nextRounds: number;
  reason: string;
}

/**
 * Adaptive rounds: extend the open cells by `step` rounds per side, up to `maxRounds`. Open are
 * the inconclusive cells, and the cells noisy only by CV whose estimate already lies beyond
 * their floor: more rounds narrow the CI, and one wholly beyond the floor is judged despite the
 * noise. Other noisy cells (slow mode, a failed gate, or an estimate inside the floor) are
 * settled: more rounds of the same noise do not change them. Stop as soon as no cell is open or
 * the cap is reached.
 */
export function nextRoundsDecision(analyses: readonly MatrixCellAnalysis[], policy: RoundsPolicy): NextRoundsDecision {
  const isOpen = (a: MatrixCellAnalysis["analysis"]): boolean =>
    a.verdict === "inconclusive" || (a.verdict === "noisy" && a.noisyByCvOnly && Math.abs(Math.log(a.ratio)) > Math.log(1 + a.floor));
  const open = analyses.filter((c) => isOpen(c.analysis)).map((c) => c.key);
  if (open.length === 0) {
    return { continue: false, extend: [], nextRounds: policy.roundsSoFar, reason: "every cell decided" };
  }
  if (policy.roundsSoFar >= policy.maxRounds) {
    return {
      continue: false,
      extend: [],
      nextRounds: policy.roundsSoFar,
      reason: `cap of ${policy.maxRounds} rounds/side reached with ${open.length} cell(s) undecided`,
    };
  }
  const nextRounds = Math.min(policy.maxRounds, policy.roundsSoFar + Math.max(1, policy.step));
  return {
    continue: true,
    extend: open,
    nextRounds,
    reason: `${open.length} cell(s) undecided: extend to ${nextRounds} rounds/side`,
  };
}
