import { type BenchSample, type Cell, cellKey } from "../domain/bench.ts";
import type { Direction } from "../domain/verdict.ts";
import type { RoundInput } from "./analyze-cell.ts";
import type { MatrixCellInput } from "./analyze-matrix.ts";

/**
 * Pure: raw netperf samples → one stats input per cell (THROUGHPUT, higher
 * is better). Failed runs are left out of the rounds but counted, and a cell
 * where runs failed carries a quality problem (so it cannot be headlined).
 */
export function samplesToCells(
  samples: readonly BenchSample[],
  variants: readonly [string, string],
  direction: Direction = "higher-is-better",
): { cells: Cell[]; inputs: MatrixCellInput[] } {
  const byCell = new Map<string, { cell: Cell; samples: BenchSample[] }>();
  for (const s of samples) {
    const k = cellKey(s.cell);
    const e = byCell.get(k) ?? { cell: s.cell, samples: [] };
    e.samples.push(s);
    byCell.set(k, e);
  }
  const cells: Cell[] = [];
  const inputs: MatrixCellInput[] = [];
  for (const [key, { cell, samples: ss }] of byCell) {
    const rounds = new Map<string, RoundInput & { runs: number[] }>();
    let failed = 0;
    const problems = new Set<string>();
    for (const s of ss) {
      // A superseded run was replaced by a re-run of its pair: the re-run counts, this one does not.
      if (s.superseded !== undefined) continue;
      const side = s.variant === variants[0] ? "A" : s.variant === variants[1] ? "B" : null;
      if (!side) continue;
      const rk = `${side}/${s.round}`;
      const r = rounds.get(rk) ?? { round: s.round, variant: side, runs: [] };
      if (s.ok && Number.isFinite(s.throughput)) r.runs.push(s.throughput);
      else {
        failed++;
        if (s.problem) problems.add(s.problem);
      }
      rounds.set(rk, r);
    }
    cells.push(cell);
    const input: MatrixCellInput["input"] = { rounds: [...rounds.values()], direction };
    if (failed > 0) {
      Object.assign(input, { qualityProblem: `${failed} failed run(s): ${[...problems].slice(0, 2).join("; ")}` });
    }
    inputs.push({ key, input });
  }
  return { cells, inputs };
}
