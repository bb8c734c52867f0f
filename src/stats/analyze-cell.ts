import type { Direction, Verdict } from "../domain/verdict.ts";
import { cv, mean, median, sd } from "./descriptive.ts";
import { studentTQuantile } from "./distributions.ts";
import { hierarchicalBootstrapCi } from "./hierarchical-bootstrap.ts";
import { mannWhitney } from "./mann-whitney.ts";
import { mdeFromSe } from "./minimum-detectable-effect.ts";
import { confidenceInterval, pairedT, type TInterval, welchT } from "./t-interval.ts";

export type Side = "A" | "B";

/** One round of one variant in one cell: its measured runs (e.g. throughput of each netperf run). */
export interface RoundInput {
  round: number;
  variant: Side;
  runs: readonly number[];
}

export interface CellInput {
  rounds: readonly RoundInput[];
  direction: Direction;
  /** Set when a quality gate failed for this cell (e.g. the runner saw the slow mode): the cell is noisy. */
  qualityProblem?: string;
}

export interface AnalysisOptions {
  /** Level of the 95% CI and the q threshold. Default 0.05. */
  alpha?: number;
  /** A side whose round-level CV exceeds this is noisy. Default 0.05. */
  cvLimit?: number;
  /** Smallest noise floor. Default 0.01 (1%). */
  floorMin?: number;
  /** floor = max(floorMin, floorCvMultiplier × noise CV). Default 2 (STATISTICS.md). */
  floorCvMultiplier?: number;
  /** Seed of the bootstrap. Default 1. */
  seed?: number;
  /** Bootstrap resamples; 0 skips the bootstrap (bootstrapCi95 = null). Default 2000. */
  bootstrapResamples?: number;
  /** α of the minimum detectable effect. Default 0.01 (STATISTICS.md's figures). */
  mdeAlpha?: number;
  /** Power of the minimum detectable effect. Default 0.8. */
  mdePower?: number;
  /** Most rounds per side `roundsNeeded` may propose. Default 16. */
  roundsCap?: number;
  /** A run below this fraction of its side's median run marks the slow mode (noisy). 0 disables. Default 0.6. */
  slowModeRatio?: number;
  /**
   * Which CV sets the floor and the noisy gate. "pairs" (default): for paired cells,
   * sd(log B − log A over pairs)/√2 — drift shared by the two halves of a pair cancels;
   * unpaired cells fall back to "rounds". "rounds" (STATISTICS.md's literal rule): the larger
   * of the two sides' round-level CVs, so slow drift across the session counts as noise.
   *
   * Why "pairs" is the default: this VM drifts ~18% in 15 minutes (FACTS.md). Under that drift
   * the round-level CV of a 6-round session is several percent, so with "rounds" nearly every
   * cell is called noisy and its floor (2 × CV) hides real 5–10% changes (scripts/bench-validate.ts:
   * drift rows, "rounds" vs "pairs"). The paired t interval already uses the within-pair
   * differences; taking the floor and the noisy gate from the same differences makes the three
   * parts of the verdict measure the same noise, while FPR per matrix stays at or below the
   * "rounds" figure in every simulated design (BH + CI + floor still all have to agree).
   */
  noiseFrom?: "rounds" | "pairs";
}

export interface DroppedRound {
  round: number;
  variant: Side;
  reason: string;
}

/** Everything decided about one cell. Ratios are B/A; changes are ratio − 1. */
export interface CellAnalysis {
  direction: Direction;
  nA: number;
  nB: number;
  /** Rounds with both sides (0 when analysed by Welch). */
  pairs: number;
  method: "paired-t" | "welch";
  /** Geometric mean of A's round values. */
  meanA: number;
  meanB: number;
  /** exp(mean log B − mean log A). */
  ratio: number;
  change: number;
  /** 95% CI of the ratio (level 1 − alpha); null when a side has < 2 rounds. */
  ci95: [number, number] | null;
  ci90: [number, number] | null;
  /** Two-sided p of the t test on log values (1 when not estimable). */
  pValue: number;
  df: number;
  /** Standard error of the log ratio. */
  seLog: number;
  cvA: number;
  cvB: number;
  /** The CV behind floor and noisy gate (see AnalysisOptions.noiseFrom). */
  noiseCv: number;
  /** max(floorMin, floorCvMultiplier × noiseCv), as a fraction. */
  floor: number;
  /** Minimum detectable effect (fraction) at mdeAlpha / mdePower for this n and variance. */
  mde: number;
  bootstrapCi95: [number, number] | null;
  mannWhitneyP: number | null;
  noisy: boolean;
  noisyReasons: string[];
  /**
   * A noisy reason holds (the noise CV over cvLimit, or slow runs whose removal leaves the
   * verdict's side unchanged) but the whole 95% CI lies beyond the floor (which is already
   * 2 × the noise CV), with no quality gate failed: the effect is far larger than the noise,
   * so the cell is judged instead of being set aside as noisy (the reason says so).
   */
  noisyButBeyondFloor: boolean;
  /**
   * Noisy only because the noise CV is over the limit (no quality gate, no slow mode): such a
   * cell is decided once its whole CI lies beyond the floor, so more rounds can settle it.
   */
  noisyByCvOnly: boolean;
  /** BH-adjusted p across the matrix (= pValue when analysed alone). */
  q: number;
  verdict: Verdict;
  reason: string;
  /** For "inconclusive": rounds per side estimated to decide (≤ roundsCap); else null. */
  roundsNeeded: number | null;
  /** True when even roundsCap rounds per side would likely not decide. */
  roundsNeededCapped: boolean;
  dropped: DroppedRound[];
}

interface Resolved {
  alpha: number;
  cvLimit: number;
  floorMin: number;
  floorCvMultiplier: number;
  seed: number;
  bootstrapResamples: number;
  mdeAlpha: number;
  mdePower: number;
  roundsCap: number;
  slowModeRatio: number;
  noiseFrom: "rounds" | "pairs";
}

export function resolveOptions(o: AnalysisOptions = {}): Resolved {
  return {
    alpha: o.alpha ?? 0.05,
    cvLimit: o.cvLimit ?? 0.05,
    floorMin: o.floorMin ?? 0.01,
    floorCvMultiplier: o.floorCvMultiplier ?? 2,
    seed: o.seed ?? 1,
    bootstrapResamples: o.bootstrapResamples ?? 2000,
    mdeAlpha: o.mdeAlpha ?? 0.01,
    mdePower: o.mdePower ?? 0.8,
    roundsCap: o.roundsCap ?? 16,
    slowModeRatio: o.slowModeRatio ?? 0.6,
    noiseFrom: o.noiseFrom ?? "pairs",
  };
}

export function formatPercent(x: number, digits = 1): string {
  if (!Number.isFinite(x)) return String(x);
  const v = (x * 100).toFixed(digits);
  return `${x >= 0 ? "+" : ""}${v}%`;
}

function cleanRounds(rounds: readonly RoundInput[]): {
  kept: Map<Side, Map<number, number[]>>;
  dropped: DroppedRound[];
} {
  const kept = new Map<Side, Map<number, number[]>>([
    ["A", new Map()],
    ["B", new Map()],
  ]);
  const dropped: DroppedRound[] = [];
  for (const r of rounds) {
    const side = kept.get(r.variant)!;
    if (side.has(r.round)) {
      dropped.push({ round: r.round, variant: r.variant, reason: "duplicate round number for this variant" });
      continue;
    }
    const good = r.runs.filter((x) => Number.isFinite(x) && x > 0);
    if (r.runs.length === 0) {
      dropped.push({ round: r.round, variant: r.variant, reason: "no runs" });
      continue;
    }
    if (good.length === 0) {
      dropped.push({ round: r.round, variant: r.variant, reason: "no run with a positive finite value" });
      continue;
    }
    if (good.length < r.runs.length) {
      dropped.push({
        round: r.round,
        variant: r.variant,
        reason: `${r.runs.length - good.length} run(s) without a positive finite value ignored (round kept)`,
      });
    }
    side.set(r.round, good);
  }
  return { kept, dropped };
}

/** How the verdict-relevant interval would look at n rounds per side. */
function halfWidth(level: number, perRoundVar: number, n: number, paired: boolean): number {
  const df = paired ? n - 1 : 2 * n - 2;
  return studentTQuantile(1 - (1 - level) / 2, df) * Math.sqrt(perRoundVar / n);
}

function estimateRoundsNeeded(
  logRatio: number,
  perRoundVar: number,
  paired: boolean,
  floor: number,
  opts: Resolved,
  nNow: number,
): { n: number; capped: boolean } {
  const up = Math.log1p(floor);
  const down = Math.log1p(-Math.min(floor, 0.999));
  const beyond = logRatio > up || logRatio < down;
  for (let n = Math.max(2, nNow + 1); n <= opts.roundsCap; n++) {
    if (beyond && Math.abs(logRatio) > halfWidth(1 - opts.alpha, perRoundVar, n, paired)) return { n, capped: false };
    const h90 = halfWidth(1 - 2 * opts.alpha, perRoundVar, n, paired);
    if (!beyond && logRatio + h90 <= up && logRatio - h90 >= down) return { n, capped: false };
  }
  return { n: opts.roundsCap, capped: true };
}

type Base = Omit<CellAnalysis, "q" | "verdict" | "reason" | "roundsNeeded" | "roundsNeededCapped">;

interface VerdictParts {
  verdict: Verdict;
  reason: string;
  roundsNeeded: number | null;
  roundsNeededCapped: boolean;
}

function decide(a: Base, q: number, perRoundVar: number, opts: Resolved): VerdictParts {
  const none = { roundsNeeded: null, roundsNeededCapped: false };
  if (a.noisy) return { verdict: "noisy", reason: a.noisyReasons.join("; "), ...none };
  const loud = a.noisyButBeyondFloor ? `; ${a.noisyReasons.join("; ")}, but the whole 95% CI lies beyond the floor` : "";
  const floorText = `±${(a.floor * 100).toFixed(1)}%`;
  if (a.ci95 === null || a.ci90 === null) {
    return {
      verdict: "inconclusive",
      reason: `too few rounds to estimate (A ${a.nA}, B ${a.nB}; need ≥ 2 per side)`,
      roundsNeeded: Math.min(opts.roundsCap, Math.max(4, a.nA, a.nB)),
      roundsNeededCapped: false,
    };
  }
  const ci = `95% CI ${formatPercent(a.ci95[0] - 1)} .. ${formatPercent(a.ci95[1] - 1)}`;
  const significant = q <= opts.alpha;
  const excludesZero = a.ci95[0] > 1 || a.ci95[1] < 1;
  const beyondFloor = a.ratio > 1 + a.floor || a.ratio < 1 - a.floor;
  const est = formatPercent(a.change);
  const qText = `q = ${q < 0.001 ? q.toExponential(1) : q.toFixed(3)}`;
  if (significant && excludesZero && beyondFloor) {
    const good = a.direction === "higher-is-better" ? a.ratio > 1 : a.ratio < 1;
    return {
      verdict: good ? "improvement" : "regression",
      reason: `${est} (${ci}), ${qText} ≤ ${opts.alpha}, beyond floor ${floorText}${loud}`,
      ...none,
    };
  }
  if (a.ci90[0] >= 1 - a.floor && a.ci90[1] <= 1 + a.floor) {
    return {
      verdict: "no change",
      reason: `90% CI ${formatPercent(a.ci90[0] - 1)} .. ${formatPercent(a.ci90[1] - 1)} inside floor ${floorText}`,
      ...none,
    };
  }
  const why: string[] = [];
  if (!significant) why.push(`${qText} > ${opts.alpha}`);
  else if (!excludesZero) why.push(`${ci} includes 0`);
  if (!beyondFloor) why.push(`${est} within floor ${floorText} but 90% CI not inside it`);
  else why.push(`${est} (${ci})`);
  const n = Math.max(a.method === "paired-t" ? a.pairs : Math.min(a.nA, a.nB), 2);
  const need = estimateRoundsNeeded(Math.log(a.ratio), perRoundVar, a.method === "paired-t", a.floor, opts, n);
  why.push(
    need.capped
      ? `not likely decidable within ${opts.roundsCap} rounds/side at this effect and variance`
      : `≈ ${need.n} rounds/side would likely decide`,
  );
  return { verdict: "inconclusive", reason: why.join("; "), roundsNeeded: need.n, roundsNeededCapped: need.capped };
}

/** Internal result: the analysis before the matrix's q is known, plus what the verdict needs. */
export interface CellEvidence {
  base: Base;
  perRoundVar: number;
}

export function cellEvidence(input: CellInput, options: AnalysisOptions = {}): CellEvidence {
  const opts = resolveOptions(options);
  const { kept, dropped } = cleanRounds(input.rounds);
  const sideA = kept.get("A")!;
  const sideB = kept.get("B")!;
  const roundsA = [...sideA.keys()].sort((x, y) => x - y);
  const roundsB = [...sideB.keys()].sort((x, y) => x - y);
  const paired =
    roundsA.length >= 2 && roundsA.length === roundsB.length && roundsA.every((r, i) => r === roundsB[i]);
  const valuesA = roundsA.map((r) => mean(sideA.get(r)!));
  const valuesB = roundsB.map((r) => mean(sideB.get(r)!));
  const la = valuesA.map(Math.log);
  const lb = valuesB.map(Math.log);
  const diffs = paired ? lb.map((x, i) => x - la[i]!) : [];
  const ti: TInterval = paired ? pairedT(diffs) : welchT(la, lb);
  const estimable = la.length >= 2 && lb.length >= 2;
  const logRatio = mean(lb) - mean(la);
  const ratio = Math.exp(logRatio);
  const toRatio = (ci: [number, number]): [number, number] => [Math.exp(ci[0]), Math.exp(ci[1])];
  const ci95 = estimable ? toRatio(confidenceInterval(ti, 1 - opts.alpha)) : null;
  const ci90 = estimable ? toRatio(confidenceInterval(ti, 1 - 2 * opts.alpha)) : null;

  const cvA = valuesA.length >= 2 ? cv(valuesA) : Number.NaN;
  const cvB = valuesB.length >= 2 ? cv(valuesB) : Number.NaN;
  const roundCv = Math.max(Number.isNaN(cvA) ? 0 : cvA, Number.isNaN(cvB) ? 0 : cvB);
  const noiseCv = opts.noiseFrom === "pairs" && paired ? sd(diffs) / Math.SQRT2 : roundCv;
  const floor = Math.max(opts.floorMin, opts.floorCvMultiplier * noiseCv);

  const noisyReasons: string[] = [];
  let hardNoise = false;
  if (input.qualityProblem !== undefined) {
    noisyReasons.push(`quality gate: ${input.qualityProblem}`);
    hardNoise = true;
  }
  if (noiseCv > opts.cvLimit) {
    const what = opts.noiseFrom === "pairs" && paired ? "within-pair CV" : "round CV";
    noisyReasons.push(`${what} ${(noiseCv * 100).toFixed(1)}% > limit ${(opts.cvLimit * 100).toFixed(1)}%`);
  }
  const beyond = (ci: [number, number] | null, f: number): -1 | 0 | 1 => (ci === null ? 0 : ci[0] > 1 + f ? 1 : ci[1] < 1 - f ? -1 : 0);
  if (opts.slowModeRatio > 0) {
    const slowText: string[] = [];
    const medians = new Map<Side, number>();
    for (const [name, side] of [
      ["A", sideA],
      ["B", sideB],
    ] as const) {
      const runs = [...side.values()].flat();
      const med = median(runs);
      medians.set(name, med);
      const slow = runs.filter((x) => x < opts.slowModeRatio * med).length;
      if (slow > 0) slowText.push(`${slow} run(s) of ${name}`);
    }
    if (slowText.length > 0) {
      const what = `slow mode: ${slowText.join(" and ")} below ${Math.round(opts.slowModeRatio * 100)}% of its side's median`;
      // Sensitivity check: the same cell without the slow runs. When both analyses put the whole
      // 95% CI beyond the floor on the same side, the slow runs cannot have made the verdict (a
      // host hiccup under a 2x change); otherwise they might have, and the cell is set aside.
      const without = cellEvidence(
        {
          ...input,
          rounds: input.rounds.map((r) => ({ ...r, runs: r.runs.filter((x) => !(x < opts.slowModeRatio * (medians.get(r.variant) ?? 0))) })),
        },
        { ...options, slowModeRatio: 0, bootstrapResamples: 0 },
      ).base;
      const side = beyond(ci95, floor);
      const held = side !== 0 && beyond(without.ci95, without.floor) === side;
      if (held) noisyReasons.push(`${what} (without them too)`);
      else {
        noisyReasons.push(what);
        hardNoise = true;
      }
    }
  }

  const noisyButBeyondFloor = !hardNoise && noisyReasons.length > 0 && beyond(ci95, floor) !== 0;
  const perRoundVar = paired ? ti.se * ti.se * diffs.length : ti.se * ti.se * Math.min(la.length, lb.length);
  const mw = mannWhitney(valuesA, valuesB);
  const base: Base = {
    direction: input.direction,
    nA: la.length,
    nB: lb.length,
    pairs: paired ? diffs.length : 0,
    method: paired ? "paired-t" : "welch",
    meanA: Math.exp(mean(la)),
    meanB: Math.exp(mean(lb)),
    ratio,
    change: ratio - 1,
    ci95,
    ci90,
    pValue: estimable && !Number.isNaN(ti.pValue) ? ti.pValue : 1,
    df: ti.df,
    seLog: ti.se,
    cvA,
    cvB,
    noiseCv,
    floor,
    mde: estimable ? mdeFromSe(ti.se, ti.df, opts.mdeAlpha, opts.mdePower) : Number.NaN,
    bootstrapCi95:
      opts.bootstrapResamples > 0
        ? hierarchicalBootstrapCi(
            {
              a: roundsA.map((r) => sideA.get(r)!),
              b: roundsB.map((r) => sideB.get(r)!),
              paired,
            },
            1 - opts.alpha,
            opts.bootstrapResamples,
            opts.seed,
          )
        : null,
    mannWhitneyP: mw === null ? null : mw.pValue,
    noisy: noisyReasons.length > 0 && !noisyButBeyondFloor,
    noisyReasons,
    noisyButBeyondFloor,
    noisyByCvOnly: !hardNoise && noisyReasons.length > 0 && !noisyButBeyondFloor,
    dropped,
  };
  return { base, perRoundVar };
}

/** Attach the verdict given the cell's q (BH-adjusted across the matrix). */
export function applyVerdict(ev: CellEvidence, q: number, options: AnalysisOptions = {}): CellAnalysis {
  const parts = decide(ev.base, q, ev.perRoundVar, resolveOptions(options));
  return { ...ev.base, q, ...parts };
}

/**
 * Analyse one cell on its own (a matrix of one: q = p). For a matrix use analyzeMatrix,
 * which adjusts q across all cells before deciding.
 */
export function analyzeCell(input: CellInput, options: AnalysisOptions = {}): CellAnalysis {
  const ev = cellEvidence(input, options);
  return applyVerdict(ev, ev.base.pValue, options);
}
