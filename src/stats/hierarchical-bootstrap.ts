import { createRng } from "../domain/create-rng.ts";
import { quantile } from "./descriptive.ts";

export interface BootstrapInput {
  /** Runs of each A round (each inner array non-empty). */
  a: readonly (readonly number[])[];
  /** Runs of each B round; when `paired`, b[i] is the partner of a[i]. */
  b: readonly (readonly number[])[];
  paired: boolean;
}

function resampledRoundLog(runs: readonly number[], next: () => number): number {
  let s = 0;
  for (let k = 0; k < runs.length; k++) s += runs[Math.floor(next() * runs.length)]!;
  return Math.log(s / runs.length);
}

/**
 * Percentile CI of the ratio exp(mean log B − mean log A) by a two-level bootstrap:
 * resample rounds (whole pairs when paired) with replacement, then runs within each drawn round.
 * Null when a side has fewer than 2 rounds or resamples < 1.
 */
export function hierarchicalBootstrapCi(
  input: BootstrapInput,
  level: number,
  resamples: number,
  seed: number,
): [number, number] | null {
  const { a, b, paired } = input;
  if (a.length < 2 || b.length < 2 || resamples < 1) return null;
  const rng = createRng(seed);
  const next = rng.next;
  const stats = new Array<number>(resamples);
  for (let r = 0; r < resamples; r++) {
    let sa = 0;
    let sb = 0;
    if (paired) {
      for (let i = 0; i < a.length; i++) {
        const j = Math.floor(next() * a.length);
        sa += resampledRoundLog(a[j]!, next);
        sb += resampledRoundLog(b[j]!, next);
      }
    } else {
      for (let i = 0; i < a.length; i++) sa += resampledRoundLog(a[Math.floor(next() * a.length)]!, next);
      for (let i = 0; i < b.length; i++) sb += resampledRoundLog(b[Math.floor(next() * b.length)]!, next);
    }
    stats[r] = sb / b.length - sa / a.length;
  }
  const tail = (1 - level) / 2;
  return [Math.exp(quantile(stats, tail)), Math.exp(quantile(stats, 1 - tail))];
}
