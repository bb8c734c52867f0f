import { formatPercent } from "./analyze-cell.ts";
import { type ChangePoint, findChangePoints, type HistoryPoint, shortSha } from "./change-points.ts";
import type { EDivisiveOptions } from "./e-divisive.ts";

/**
 * Which change points become candidates (to be confirmed by a fresh A/B, then bisected).
 *
 * A change point alone compares absolute numbers measured in different jobs, so machine drift
 * and slow modes make them. Each step of the ratio chain is one interleaved A/B job of a tip
 * against the previous tip, in which drift shared by the two halves cancels. A change is a
 * candidate only when both agree: the A/B ratio across the change point has the change point's
 * direction, its 95% CI excludes 1 and it lies beyond the noise floor (STATISTICS.md:
 * max(1%, 2 × CV)). "Across" is first the change point's own step (the last tip before it against
 * the first tip after it: the most precise ratio when the change point sits where the change
 * happened), else the product of the steps index − 1 … index + 1 (the chain from two tips before
 * to one tip after: still right when E-divisive placed the change a tip off, at √3 the noise,
 * since the jobs are separate and their log variances add). Each span alone misses changes the
 * other finds (`npm run bench:history` prints all three rules); a change point has to be found
 * first, so the second look adds little to the false rate.
 */
export interface CandidateOptions {
  /** The change-point step (Otava's method; its settings unless overridden). */
  changePoints?: EDivisiveOptions;
  /** Steps each side of the change point in the ratio product, tried in order. Default [0, 1]. */
  chainHalfWidths?: readonly number[];
  /** Smallest noise floor. Default 0.01. */
  floorMin?: number;
  /** floor = max(floorMin, multiplier × the largest step CV in the span). Default 2. */
  floorCvMultiplier?: number;
}

export interface ChainEvidence {
  /** The product spans the A/B chain from this tip to `toIndex`. */
  fromIndex: number;
  toIndex: number;
  /** Steps with a usable ratio in the span, and those without (noisy or failed A/B). */
  steps: number;
  missingSteps: number;
  ratio: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  floor: number;
}

export interface CandidateChange extends ChangePoint {
  chain: ChainEvidence;
  candidate: boolean;
  /** Why it is (or is not) a candidate, in words. */
  verdict: string;
}

const Z95 = 1.959963984540054;

export function chainEvidence(
  history: readonly HistoryPoint[],
  index: number,
  halfWidth: number,
  options: Pick<CandidateOptions, "floorMin" | "floorCvMultiplier"> = {},
): ChainEvidence {
  const h = halfWidth;
  const first = Math.max(1, index - h);
  const last = Math.min(history.length - 1, index + h);
  let sumLog = 0;
  let varLog = 0;
  let steps = 0;
  let missing = 0;
  let maxCv = 0;
  for (let j = first; j <= last; j++) {
    const r = history[j]!.ratioToPrevious;
    if (!r) {
      missing++;
      continue;
    }
    const se = (Math.log(r.ciHigh) - Math.log(r.ciLow)) / (2 * Z95);
    sumLog += Math.log(r.ratio);
    varLog += se * se;
    steps++;
    maxCv = Math.max(maxCv, r.cv ?? 0);
  }
  const floor = Math.max(options.floorMin ?? 0.01, (options.floorCvMultiplier ?? 2) * maxCv);
  const half = Z95 * Math.sqrt(varLog);
  return {
    fromIndex: first - 1,
    toIndex: last,
    steps,
    missingSteps: missing,
    ratio: steps > 0 ? Math.exp(sumLog) : null,
    ciLow: steps > 0 ? Math.exp(sumLog - half) : null,
    ciHigh: steps > 0 ? Math.exp(sumLog + half) : null,
    floor,
  };
}

function judge(cp: ChangePoint, chain: ChainEvidence, history: readonly HistoryPoint[]): { candidate: boolean; why: string } {
  const span = `tips ${chain.fromIndex} (${shortSha(history[chain.fromIndex]!.commit)}) -> ${chain.toIndex} (${shortSha(history[chain.toIndex]!.commit)})`;
  if (chain.ratio === null || chain.ciLow === null || chain.ciHigh === null) {
    return { candidate: false, why: `no A/B ratio across it (${span}): not a candidate` };
  }
  const est = chain.ratio - 1;
  const ab = `the A/B chain ${span} gives ${formatPercent(est)} [${formatPercent(chain.ciLow - 1)}, ${formatPercent(chain.ciHigh - 1)}]`;
  const floor = `${(chain.floor * 100).toFixed(1)}%`;
  if (Math.sign(est) !== Math.sign(cp.relativeChange)) return { candidate: false, why: `${ab}, the other direction: not a candidate` };
  if (chain.ciLow <= 1 && chain.ciHigh >= 1) return { candidate: false, why: `${ab}, its CI includes 0: not a candidate` };
  if (Math.abs(est) <= chain.floor) return { candidate: false, why: `${ab}, within the ${floor} noise floor: not a candidate` };
  return { candidate: true, why: `${ab}, beyond the ${floor} noise floor: candidate` };
}

/** Judge given change points against the ratio chain. */
export function judgeChangePoints(
  history: readonly HistoryPoint[],
  changePoints: readonly ChangePoint[],
  options: CandidateOptions = {},
): CandidateChange[] {
  const spans = options.chainHalfWidths ?? [0, 1];
  if (spans.length === 0) throw new RangeError("chainHalfWidths must name at least one span");
  return changePoints.map((cp) => {
    const looks = spans.map((h) => {
      const chain = chainEvidence(history, cp.index, h, options);
      return { chain, ...judge(cp, chain, history) };
    });
    const { chain, candidate, why } = looks.find((l) => l.candidate) ?? looks[0]!;
    return { ...cp, chain, candidate, verdict: `${cp.reason}; ${why}` };
  });
}

/** Change points of a cell's history, each judged against the A/B ratio chain around it. */
export function findCandidateChanges(history: readonly HistoryPoint[], options: CandidateOptions = {}): CandidateChange[] {
  return judgeChangePoints(history, findChangePoints(history, options.changePoints), options);
}
