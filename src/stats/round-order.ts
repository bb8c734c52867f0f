import type { Side } from "./analyze-cell.ts";
import { createRng, hashSeed } from "./create-rng.ts";

/**
 * AAABBB: every A round, then every B round (the order STATISTICS.md warns about).
 * ABAB: A then B in every round. ABBA: A B, B A, A B, … (linear drift cancels over two rounds).
 */
export type RoundDesign = "AAABBB" | "ABAB" | "ABBA";

export interface RoundSlot {
  round: number;
  variant: Side;
}

/**
 * The order of (round, variant) slots for `rounds` rounds per side, numbering rounds from
 * `firstRound` (pass the rounds done so far to extend a session without breaking the ABBA pattern).
 */
export function roundOrder(design: RoundDesign, rounds: number, firstRound = 0): RoundSlot[] {
  const out: RoundSlot[] = [];
  const last = firstRound + rounds;
  if (design === "AAABBB") {
    for (let r = firstRound; r < last; r++) out.push({ round: r, variant: "A" });
    for (let r = firstRound; r < last; r++) out.push({ round: r, variant: "B" });
    return out;
  }
  for (let r = firstRound; r < last; r++) {
    const flip = design === "ABBA" && r % 2 === 1;
    out.push({ round: r, variant: flip ? "B" : "A" }, { round: r, variant: flip ? "A" : "B" });
  }
  return out;
}

/**
 * The order of cells inside one round: a Fisher–Yates shuffle seeded by (seed, round) only, so
 * the A and the B slot of a round run the cells in the same order.
 */
export function shuffleCells<T>(cells: readonly T[], seed: number, round: number): T[] {
  const rng = createRng(hashSeed(seed, round));
  const out = [...cells];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}
