import { z } from "zod";
import { formatPercent } from "./analyze-cell.ts";
import { type EDivisiveOptions, eDivisive, OTAVA_SETTINGS } from "./e-divisive.ts";

/** One A/B job of a tip against the previous measured tip: ratio tip/previous and its 95% CI. */
export const StepRatioSchema = z.object({
  ratio: z.number().positive(),
  ciLow: z.number().positive(),
  ciHigh: z.number().positive(),
  /** The job's noise CV (analyze-cell's floor CV), which sets the noise floor. */
  cv: z.number().nonnegative().optional(),
});
export type StepRatio = z.infer<typeof StepRatioSchema>;

/** One measured tip of a cell's history, oldest first. */
export const HistoryPointSchema = z.object({
  commit: z.string().min(1),
  value: z.number().finite(),
  /** Absent for the first tip and for a step whose A/B was noisy or failed. */
  ratioToPrevious: StepRatioSchema.nullish(),
});
export type HistoryPoint = z.infer<typeof HistoryPointSchema>;
export const CellHistorySchema = z.array(HistoryPointSchema);

export interface ChangePoint {
  /** Index in the history of the first tip after the change. */
  index: number;
  commit: string;
  /** The last tip before the change: the good end of a bisection. */
  previousCommit: string;
  meanBefore: number;
  meanAfter: number;
  /** meanAfter / meanBefore − 1. */
  relativeChange: number;
  pValue: number;
  qhat: number;
  nBefore: number;
  nAfter: number;
  reason: string;
}

export function shortSha(commit: string): string {
  return /^[0-9a-f]{12,}$/i.test(commit) ? commit.slice(0, 12) : commit;
}

export function formatP(p: number): string {
  if (p === 0) return "0";
  return p >= 0.001 ? p.toFixed(4) : p.toExponential(1);
}

function reasonFor(cp: Omit<ChangePoint, "reason">, maxPValue: number): string {
  return (
    `tip ${cp.index} (${shortSha(cp.commit)}): mean ${cp.meanBefore.toPrecision(6)} -> ${cp.meanAfter.toPrecision(6)} ` +
    `(${formatPercent(cp.relativeChange)}) over ${cp.nBefore} tips before and ${cp.nAfter} after; ` +
    `t-test p = ${formatP(cp.pValue)} < ${maxPValue}`
  );
}

/** E-divisive change points of a cell's history (Otava's method and, by default, its settings). */
export function findChangePoints(history: readonly HistoryPoint[], options: EDivisiveOptions = {}): ChangePoint[] {
  const maxPValue = options.maxPValue ?? OTAVA_SETTINGS.maxPValue;
  return eDivisive(
    history.map((p) => p.value),
    options,
  ).map((e) => {
    const base = {
      index: e.index,
      commit: history[e.index]!.commit,
      previousCommit: history[e.index - 1]!.commit,
      meanBefore: e.meanBefore,
      meanAfter: e.meanAfter,
      relativeChange: e.relativeChange,
      pValue: e.pValue,
      qhat: e.qhat,
      nBefore: e.nBefore,
      nAfter: e.nAfter,
    };
    return { ...base, reason: reasonFor(base, maxPValue) };
  });
}
