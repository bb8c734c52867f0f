import { createRng, hashSeed } from "./create-rng.ts";

/**
 * AAABBB: every A round, then every B round (the order STATISTICS.md warns about; simulated only).
 * ABAB: A then B in every round. ABBA: A B, B A, A B, … (linear drift cancels over two rounds).
 */
export type RoundDesign = "AAABBB" | "ABAB" | "ABBA";

export interface RoundSlot {
  round: number;
  variant: "A" | "B";
}

/**
 * Side indexes (0 = the baseline) in slot order for one round of `sides` sides: ABAB keeps
 * 0, 1, …, n-1 every round; ABBA reverses odd rounds, so with two sides it is A B | B A | A B ….
 */
export function sideOrder(design: "ABBA" | "ABAB", round: number, sides = 2): number[] {
  const order = Array.from({ length: sides }, (_, i) => i);
  return design === "ABBA" && round % 2 === 1 ? order.reverse() : order;
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
  const names = ["A", "B"] as const;
  for (let r = firstRound; r < last; r++) for (const i of sideOrder(design, r)) out.push({ round: r, variant: names[i]! });
  return out;
}

/**
 * The order of cells inside one round: a Fisher–Yates shuffle seeded by (seed, round) only, so
 * every side of a round runs the cells in the same order. The one shuffle of the project: the
 * runner and the design simulation both use it.
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
