import type { Verdict } from "../domain/verdict.ts";
import type { AnalysisOptions, RoundInput, Side } from "./analyze-cell.ts";
import { analyzeMatrix, type MatrixAnalysis } from "./analyze-matrix.ts";
import { createRng, hashSeed, type Rng } from "../domain/create-rng.ts";
import { nextRoundsDecision } from "./next-rounds-decision.ts";
import { type RoundDesign, roundOrder, shuffleCells } from "../domain/round-order.ts";

/** A seeded model of what one netperf run measures. All parts multiply the true value. */
export interface NoiseModel {
  name: string;
  /** Per-run noise sd as a fraction of the value (≈ the run-level CV). */
  runCv: number;
  /** "normal": value·(1 + cv·z); "lognormal": value·exp(cv·z). */
  shape: "normal" | "lognormal";
  /** Extra noise shared by the runs of one (cell, round, variant) — e.g. boot-to-boot. Default 0. */
  slotCv?: number;
  /** Probability that a run falls into the slow mode. Default 0. */
  slowModeProb?: number;
  /** A slow-mode run measures this fraction of the normal value. Default 0.3. */
  slowModeFactor?: number;
  /** Linear drift (in log space) of `drift` (e.g. −0.18) every `driftSeconds` of session clock. Default 0. */
  drift?: number;
  /** Default 900 (the 18% in 15 minutes measured on the runner VM, FACTS.md). */
  driftSeconds?: number;
}

export interface SessionDesign {
  order: RoundDesign;
  /** Rounds per side to start with. */
  rounds: number;
  /** Extend inconclusive cells by `step` rounds per side up to `maxRounds`; absent = fixed rounds. */
  adaptive?: { step: number; maxRounds: number };
  /**
   * "slot": a round's A (or B) slot runs every cell, as with one boot per variant.
   * "cell": each cell runs its A and B back to back (cheap switching: sysctl, BPF attach).
   * Default "slot".
   */
  granularity?: "slot" | "cell";
  runsPerRound: number;
  runSeconds: number;
  /** One discarded warm-up run per cell per slot: its length in seconds. Default 0. */
  warmupSeconds?: number;
  /** Warm up only in round 0 (the first slot of each variant per cell). Default false. */
  warmupFirstRoundOnly?: boolean;
  /** Fixed cost of every run, warm-ups included (process start, control connection). Default 0. */
  runOverheadSeconds?: number;
}

export interface SimulationConfig {
  design: SessionDesign;
  noise: NoiseModel;
  /** Cells in the matrix. */
  cells: number;
  iterations: number;
  seed: number;
  analysis?: AnalysisOptions;
}

/** What happened over `iterations` simulated matrices at one true effect. */
export interface EffectBatchResult {
  /** True change of B vs A in the effect-bearing cells (higher-is-better metric). */
  effect: number;
  effectCells: number;
  matrices: number;
  /** Fraction of matrices with ≥ 1 improvement/regression among their null cells. */
  fprPerMatrix: number;
  /** Fraction of null cells flagged improvement/regression. */
  nullCellFlagRate: number;
  /** Fraction of effect cells called in the right direction (null when effectCells = 0). */
  power: number | null;
  /** Fraction of effect cells called in the wrong direction. */
  wrongSignRate: number | null;
  verdicts: { null: Record<Verdict, number>; effect: Record<Verdict, number> };
  noisyFraction: number;
  meanRoundsPerSide: number;
  /** Runner time spent per cell (both variants, warm-ups included), mean over cells. */
  runnerSecondsPerCell: number;
  /** Root-mean-square error of the log ratio estimate (all cells). */
  rmseLog: number;
  /** Mean half-width of the 95% CI of the log ratio (estimable cells). */
  meanCiHalfWidthLog: number;
}

export interface DesignStudyResult {
  fprPerMatrix: number;
  null: EffectBatchResult;
  power: EffectBatchResult[];
}

const emptyCounts = (): Record<Verdict, number> => ({
  improvement: 0,
  regression: 0,
  "no change": 0,
  inconclusive: 0,
  noisy: 0,
});

interface CellState {
  key: string;
  truth: number;
  rounds: RoundInput[];
  roundsPerSide: number;
  seconds: number;
}

function runValue(noise: NoiseModel, rng: Rng, base: number, clock: number): number {
  const z = rng.normal();
  let v = noise.shape === "lognormal" ? base * Math.exp(noise.runCv * z) : base * Math.max(0.01, 1 + noise.runCv * z);
  const drift = noise.drift ?? 0;
  if (drift !== 0) v *= Math.exp((Math.log1p(drift) * clock) / (noise.driftSeconds ?? 900));
  if ((noise.slowModeProb ?? 0) > 0 && rng.next() < noise.slowModeProb!) v *= noise.slowModeFactor ?? 0.3;
  return v;
}

/** Run rounds [first, first + count) for the given cells, advancing the session clock. */
function runRounds(
  cfg: SimulationConfig,
  cells: CellState[],
  first: number,
  count: number,
  clock: { t: number },
  rng: Rng,
  sessionSeed: number,
): void {
  const { design, noise } = cfg;
  const over = design.runOverheadSeconds ?? 0;
  const measure = (cell: CellState, round: number, variant: Side): void => {
    const warm = (design.warmupSeconds ?? 0) > 0 && (!design.warmupFirstRoundOnly || round === 0) ? design.warmupSeconds! + over : 0;
    const perSlot = warm + design.runsPerRound * (design.runSeconds + over);
    clock.t += warm;
    const slot = (noise.slotCv ?? 0) > 0 ? Math.exp(noise.slotCv! * rng.normal()) : 1;
    const base = 1000 * slot * (variant === "B" ? 1 + cell.truth : 1);
    const runs: number[] = [];
    for (let k = 0; k < design.runsPerRound; k++) {
      runs.push(runValue(noise, rng, base, clock.t + design.runSeconds / 2));
      clock.t += design.runSeconds + over;
    }
    cell.rounds.push({ round, variant, runs });
    cell.seconds += perSlot;
  };
  const order = roundOrder(design.order, count, first);
  if ((design.granularity ?? "slot") === "cell" && design.order !== "AAABBB") {
    for (let i = 0; i < order.length; i += 2) {
      const s1 = order[i]!;
      const s2 = order[i + 1]!;
      for (const cell of shuffleCells(cells, sessionSeed, s1.round)) {
        measure(cell, s1.round, s1.variant);
        measure(cell, s2.round, s2.variant);
      }
    }
  } else {
    for (const slot of order) {
      for (const cell of shuffleCells(cells, sessionSeed, slot.round)) measure(cell, slot.round, slot.variant);
    }
  }
  for (const c of cells) c.roundsPerSide = first + count;
}

/** Simulate one matrix session (fixed or adaptive) and analyse it. Exported for reuse and tests. */
export function simulateMatrix(
  cfg: SimulationConfig,
  effect: number,
  effectCells: number,
  matrixSeed: number,
): { analysis: MatrixAnalysis; cells: { key: string; truth: number; roundsPerSide: number; seconds: number }[] } {
  const rng = createRng(matrixSeed);
  const cells: CellState[] = Array.from({ length: cfg.cells }, (_, i) => ({
    key: `cell${i}`,
    truth: i < effectCells ? effect : 0,
    rounds: [],
    roundsPerSide: 0,
    seconds: 0,
  }));
  const clock = { t: 0 };
  const opts: AnalysisOptions = { bootstrapResamples: 0, ...cfg.analysis };
  const analyse = (): MatrixAnalysis =>
    analyzeMatrix(
      cells.map((c) => ({ key: c.key, input: { rounds: c.rounds, direction: "higher-is-better" } })),
      opts,
    );
  runRounds(cfg, cells, 0, cfg.design.rounds, clock, rng, matrixSeed);
  let analysis = analyse();
  const ad = cfg.design.adaptive;
  if (ad !== undefined) {
    let soFar = cfg.design.rounds;
    for (;;) {
      const d = nextRoundsDecision(analysis.cells, { roundsSoFar: soFar, maxRounds: ad.maxRounds, step: ad.step });
      if (!d.continue) break;
      const extend = cells.filter((c) => d.extend.includes(c.key));
      runRounds(cfg, extend, soFar, d.nextRounds - soFar, clock, rng, matrixSeed);
      soFar = d.nextRounds;
      analysis = analyse();
    }
  }
  return {
    analysis,
    cells: cells.map((c) => ({ key: c.key, truth: c.truth, roundsPerSide: c.roundsPerSide, seconds: c.seconds })),
  };
}

/** Run `cfg.iterations` matrices with `effectCells` of the cells carrying a true change `effect`. */
export function simulateEffect(cfg: SimulationConfig, effect: number, effectCells: number): EffectBatchResult {
  const verdicts = { null: emptyCounts(), effect: emptyCounts() };
  let flaggedMatrices = 0;
  let nullCells = 0;
  let nullFlags = 0;
  let effCorrect = 0;
  let effWrong = 0;
  let effTotal = 0;
  let noisy = 0;
  let cellsTotal = 0;
  let roundsSum = 0;
  let secondsSum = 0;
  let sqErr = 0;
  let hwSum = 0;
  let hwN = 0;
  for (let it = 0; it < cfg.iterations; it++) {
    const { analysis, cells } = simulateMatrix(cfg, effect, effectCells, hashSeed(cfg.seed, it, Math.round(effect * 1e6)));
    let flagged = false;
    analysis.cells.forEach((c, i) => {
      const meta = cells[i]!;
      const a = c.analysis;
      cellsTotal++;
      roundsSum += meta.roundsPerSide;
      secondsSum += meta.seconds;
      if (a.verdict === "noisy") noisy++;
      const err = Math.log(a.ratio) - Math.log1p(meta.truth);
      if (Number.isFinite(err)) sqErr += err * err;
      if (a.ci95 !== null) {
        hwSum += (Math.log(a.ci95[1]) - Math.log(a.ci95[0])) / 2;
        hwN++;
      }
      if (meta.truth === 0) {
        nullCells++;
        verdicts.null[a.verdict]++;
        if (a.verdict === "improvement" || a.verdict === "regression") {
          nullFlags++;
          flagged = true;
        }
      } else {
        effTotal++;
        verdicts.effect[a.verdict]++;
        const right = meta.truth > 0 ? "improvement" : "regression";
        const wrong = meta.truth > 0 ? "regression" : "improvement";
        if (a.verdict === right) effCorrect++;
        if (a.verdict === wrong) effWrong++;
      }
    });
    if (flagged) flaggedMatrices++;
  }
  return {
    effect,
    effectCells,
    matrices: cfg.iterations,
    fprPerMatrix: nullCells > 0 ? flaggedMatrices / cfg.iterations : 0,
    nullCellFlagRate: nullCells > 0 ? nullFlags / nullCells : 0,
    power: effTotal > 0 ? effCorrect / effTotal : null,
    wrongSignRate: effTotal > 0 ? effWrong / effTotal : null,
    verdicts,
    noisyFraction: noisy / cellsTotal,
    meanRoundsPerSide: roundsSum / cellsTotal,
    runnerSecondsPerCell: secondsSum / cellsTotal,
    rmseLog: Math.sqrt(sqErr / cellsTotal),
    meanCiHalfWidthLog: hwN > 0 ? hwSum / hwN : Number.NaN,
  };
}

/**
 * A design's false-positive rate per matrix (all cells null) and its power at each true effect
 * (default 2%, 5%, 10%), with the effect in half the cells (the rest null, as in a real matrix
 * where BH must find the changed cells among unchanged ones).
 */
export function simulateDesign(cfg: SimulationConfig, effects: readonly number[] = [0.02, 0.05, 0.1]): DesignStudyResult {
  const nullBatch = simulateEffect(cfg, 0, 0);
  const half = Math.max(1, Math.floor(cfg.cells / 2));
  return { fprPerMatrix: nullBatch.fprPerMatrix, null: nullBatch, power: effects.map((e) => simulateEffect(cfg, e, half)) };
}
