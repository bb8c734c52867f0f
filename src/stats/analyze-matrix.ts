import type { Verdict } from "../domain/verdict.ts";
import { type AnalysisOptions, applyVerdict, type CellAnalysis, type CellInput, cellEvidence } from "./analyze-cell.ts";
import { benjaminiHochberg } from "./benjamini-hochberg.ts";

export interface MatrixCellInput {
  key: string;
  input: CellInput;
}

export interface MatrixCellAnalysis {
  key: string;
  analysis: CellAnalysis;
}

export interface MatrixAnalysis {
  cells: MatrixCellAnalysis[];
  /** Cells counted by Benjamini–Hochberg (all of them, noisy ones included, to stay conservative). */
  m: number;
  counts: Record<Verdict, number>;
}

/**
 * Analyse every cell, adjust the p-values across the whole matrix (Benjamini–Hochberg), then
 * give each cell one of the five verdicts. Noisy cells stay in m but never get
 * improvement/regression. Each cell's bootstrap uses options.seed mixed with its index.
 */
export function analyzeMatrix(cells: readonly MatrixCellInput[], options: AnalysisOptions = {}): MatrixAnalysis {
  const seed = options.seed ?? 1;
  const evidence = cells.map((c, i) => cellEvidence(c.input, { ...options, seed: (seed + 7919 * i) >>> 0 }));
  const q = benjaminiHochberg(evidence.map((e) => e.base.pValue));
  const counts: Record<Verdict, number> = { improvement: 0, regression: 0, "no change": 0, inconclusive: 0, noisy: 0 };
  const out = cells.map((c, i) => {
    const analysis = applyVerdict(evidence[i]!, q[i]!, options);
    counts[analysis.verdict]++;
    return { key: c.key, analysis };
  });
  return { cells: out, m: cells.length, counts };
}
