import { createRng, hashSeed, type Rng } from "../domain/create-rng.ts";
import { analyzeCell, type RoundInput } from "./analyze-cell.ts";
import type { HistoryPoint } from "./change-points.ts";
import type { HistoryNoise } from "./history-noise.ts";

/**
 * Seeded synthetic cell histories under a measured noise model, the way tree baselines measure
 * them: every tip is one interleaved A/B job against the previous tip (ABAB…, `rounds` runs per
 * side). The machine's level is an AR(1) process across all runs (drift), each run adds white noise
 * and may fall into the slow mode. A tip's absolute value is the geometric mean of its side in
 * its own job; its step ratio is analyze-cell's verdict on the job; a noisy job is run again (noisyRetries),
 * and a step still noisy has no ratio.
 */
export interface HistoryDesign {
  tips: number;
  rounds: number;
  /** Runs of idle machine time between two jobs (the drift keeps walking). Default 0. */
  gapRuns?: number;
  /** A job analyze-cell calls noisy is run again this many times before its step is left without a ratio. Default 1. */
  noisyRetries?: number;
}

export interface SyntheticHistory {
  points: HistoryPoint[];
  /** Index of the first tip after the change, or null for a null history. */
  changeAt: number | null;
  effect: number;
}

function runValue(rng: Rng, noise: HistoryNoise, level: number, truth: number): number {
  let v = truth * Math.exp(level + noise.cv * rng.normal());
  if (noise.slowDepth !== null && rng.next() < noise.slowRate) v *= noise.slowDepth;
  return v;
}

export function simulateHistory(
  noise: HistoryNoise,
  design: HistoryDesign,
  effect: number,
  changeAt: number | null,
  seed: number,
): SyntheticHistory {
  const rng = createRng(seed);
  const truthOf = (tip: number): number => (changeAt !== null && tip >= changeAt ? 1 + effect : 1);
  let level = noise.levelSd * rng.normal();
  const innovation = noise.levelSd * Math.sqrt(1 - noise.levelCorr ** 2);
  const step = (): void => {
    level = noise.levelCorr * level + innovation * rng.normal();
  };
  const job = (tip: number): { rounds: RoundInput[]; own: number[] } => {
    const rounds: RoundInput[] = [];
    const own: number[] = [];
    for (let r = 0; r < design.rounds; r++) {
      if (tip > 0) {
        rounds.push({ round: r, variant: "A", runs: [runValue(rng, noise, level, truthOf(tip - 1))] });
        step();
      }
      const b = runValue(rng, noise, level, truthOf(tip));
      own.push(b);
      rounds.push({ round: r, variant: "B", runs: [b] });
      step();
    }
    for (let g = 0; g < (design.gapRuns ?? 0); g++) step();
    return { rounds, own };
  };
  const points: HistoryPoint[] = [];
  for (let tip = 0; tip < design.tips; tip++) {
    let ratioToPrevious: HistoryPoint["ratioToPrevious"] = null;
    let own: number[] = [];
    for (let attempt = 0; attempt <= (tip > 0 ? (design.noisyRetries ?? 1) : 0); attempt++) {
      const j = job(tip);
      own = j.own;
      if (tip === 0) break;
      const a = analyzeCell({ rounds: j.rounds, direction: "higher-is-better" }, { bootstrapResamples: 0 });
      if (a.ci95 && (!a.noisy || a.noisyButBeyondFloor)) {
        ratioToPrevious = { ratio: a.ratio, ciLow: a.ci95[0], ciHigh: a.ci95[1], cv: a.noiseCv };
        break;
      }
    }
    const value = Math.exp(own.reduce((s, v) => s + Math.log(v), 0) / own.length);
    points.push({ commit: `tip${tip}`, value, ratioToPrevious });
  }
  return { points, changeAt, effect };
}

/** The i-th history of a batch: its own seed, its change placed in the middle third. */
export function batchHistory(noise: HistoryNoise, design: HistoryDesign, effect: number, i: number, seed: number): SyntheticHistory {
  const s = hashSeed(seed, i, Math.round(effect * 1e6));
  if (effect === 0) return simulateHistory(noise, design, 0, null, s);
  const third = Math.floor(design.tips / 3);
  const changeAt = third + createRng(s ^ 0x9e3779b9).int(third + 1);
  return simulateHistory(noise, design, effect, changeAt, s);
}
