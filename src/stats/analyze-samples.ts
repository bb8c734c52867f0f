import { type BenchSample, type Cell, cellKey } from "../domain/bench.ts";
import type { AnalysisOptions } from "./analyze-cell.ts";
import { analyzeMatrix, type MatrixAnalysis } from "./analyze-matrix.ts";
import { samplesToCells } from "./samples-to-cells.ts";

export interface SampleAnalysisOptions extends AnalysisOptions {
  /** Analyse the cells in this order (each cell's bootstrap seed depends on its place); default: as first measured. */
  cells?: readonly Cell[];
}

/**
 * Raw netperf samples of A (variants[0]) and B → the matrix analysis: the one path from samples
 * to verdicts (the stage report, `patchbench bench`, the adaptive decider, tests). Defaults:
 * seed 1, noise from within-pair differences.
 */
export function analyzeSamples(samples: readonly BenchSample[], variants: readonly [string, string], options: SampleAnalysisOptions = {}): MatrixAnalysis {
  const { cells, ...analysis } = options;
  let { inputs } = samplesToCells(samples, variants);
  if (cells) {
    const byKey = new Map(inputs.map((i) => [i.key, i]));
    inputs = cells.flatMap((c) => byKey.get(cellKey(c)) ?? []);
  }
  return analyzeMatrix(inputs, { seed: 1, noiseFrom: "pairs", ...analysis });
}
