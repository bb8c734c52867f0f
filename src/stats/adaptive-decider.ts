import type { BenchSample } from "../domain/bench.ts";
import { analyzeSamples } from "./analyze-samples.ts";
import { nextRoundsDecision } from "./next-rounds-decision.ts";

/**
 * The adaptive-rounds decision a bench asks after each extra pair of rounds (the bench stage and
 * `patchbench bench` alike): continue while a cell is undecided (nextRoundsDecision, 2 rounds
 * per side at a time, up to maxRounds). No bootstrap: the decision needs only the t interval.
 */
export function adaptiveDecider(variants: readonly [string, string], maxRounds: number, more: readonly (readonly [string, string])[] = []) {
  return (samples: readonly BenchSample[]): "stop" | "continue" => {
    const rounds = Math.max(0, ...samples.map((s) => s.round + 1));
    // Every comparison of the job (an arm against the candidate too) gets its chance to settle.
    for (const pair of [variants, ...more]) {
      const analysis = analyzeSamples(samples, pair, { bootstrapResamples: 0 });
      if (nextRoundsDecision(analysis.cells, { roundsSoFar: rounds, maxRounds, step: 2 }).continue) return "continue";
    }
    return "stop";
  };
}
