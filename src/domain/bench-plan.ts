import type { BootEvery } from "./results.ts";
import { BENCH_TESTS, type BenchTest, type Cell, cellKey, TOPOLOGIES, type Topology, type Variant } from "./bench.ts";

/**
 * One A/B benchmark: the cells, the sides (variants) and the design. The design follows
 * ../shared/design/STATISTICS.md: rounds interleave the sides (ABBA or ABAB), cell order is
 * shuffled per round with one seed for every side, each side settles, runs one discarded warm-up
 * per cell and then the measured runs. Which run comes next is bench-scheduler's to say.
 */
export interface BenchPlan {
  cells: Cell[];
  /**
   * [A = baseline, B = candidate, …]: index 0 is the baseline. What a variant is (sysctls,
   * socket options, BPF programs, a kernel) is the side session's business.
   */
  variants: [Variant, Variant, ...Variant[]];
  /** Rounds to run at least; each round runs every side once. */
  rounds: number;
  runsPerRound: number;
  durationSec: number;
  warmup: boolean;
  /** ABBA: A B | B A | A B …; ABAB: A B | A B | … */
  design: "ABBA" | "ABAB";
  seed: number;
  /** netperf -T local,remote; null = unpinned. */
  pinning: { local: number; remote: number } | null;
  /** Cap for adaptive extension by `decide` (default: rounds, i.e. no extension). */
  maxRounds?: number;
  /**
   * "side" (default): a round's A slot runs every cell, then its B slot (needed when switching
   * is a boot). "cell": each cell runs its A and B back to back, switching the variant per cell
   * — for cheap switches (sysctl, BPF attach) this keeps the two halves of a pair seconds apart,
   * so session drift cancels within the pair (STATISTICS.md; ABAB is only safe this way).
   */
  pairing?: "side" | "cell";
  /** "all" (default): a discarded warm-up per cell in every round; "first": only in round 0. */
  warmupRounds?: "all" | "first";
  /**
   * Pairing "cell" only: when a run of a pair failed a quality gate or fell into the slow mode
   * (below 60% of the median of that cell and variant so far), measure the whole pair again, up
   * to this many times per cell and round; the replaced runs stay in the samples, marked
   * `superseded`. The check is the same for every side, so it does not favour either. Default 0.
   */
  repairPairs?: number;
}

/** What a plan is made from: a tree's bench config (config/schema.ts benchSchema), as a queue payload carries it. */
export interface BenchSettings {
  tests: readonly BenchTest[];
  sizes: readonly number[];
  topologies: readonly Topology[];
  /** Variants as the config schema parsed them (zod's optional fields differ from Variant's only by an explicit undefined). */
  variants: readonly { name: string; settings: readonly { kind: string }[] }[];
  rounds: number;
  maxRounds: number;
  runsPerRound: number;
  durationSec: number;
  warmup: boolean;
  design: "ABBA" | "ABAB";
  pairing: "auto" | "side" | "cell";
  warmupRounds: "all" | "first";
  pinning: { local: number; remote: number } | null;
  seed: number;
  /** Arms: extra sides on the candidate kernel (kernel sides only). */
  arms?: readonly { name: string; settings: readonly { kind: string }[] }[];
  /** Kernel sides: when the kernels boot (see BootEvery). */
  bootEvery?: BootEvery;
}

/** Per-run overhead on top of -l (process start, control connection, teardown). */
const RUN_OVERHEAD_SEC = 0.3;
const MAX_SIZE = 1 << 20;

/** Cells of a bench config: tests × topologies × sizes. */
export function cellsOf(b: Pick<BenchSettings, "tests" | "sizes" | "topologies">): Cell[] {
  const cells: Cell[] = [];
  for (const test of b.tests) for (const topology of b.topologies) for (const size of b.sizes) cells.push({ test, size, topology });
  return cells;
}

/**
 * The plan of a bench config: the one translation used by the bench stage, plan validation
 * before queueing and every time estimate. Without `adaptive`, the plan stops at `rounds`.
 */
export function benchPlanOf(b: BenchSettings, opts: { adaptive: boolean } = { adaptive: true }): BenchPlan {
  const variants = b.variants as unknown as BenchPlan["variants"];
  return {
    cells: cellsOf(b),
    variants,
    rounds: b.rounds,
    maxRounds: opts.adaptive ? b.maxRounds : b.rounds,
    runsPerRound: b.runsPerRound,
    durationSec: b.durationSec,
    warmup: b.warmup,
    design: b.design,
    seed: b.seed,
    pinning: b.pinning,
    // Guests that switch by pause/resume keep A and B back to back per cell; where every change of
    // side is a boot (bootEvery: side) a side runs its whole round on one boot.
    pairing: b.pairing === "auto" ? (b.bootEvery === "side" ? "side" : "cell") : b.pairing,
    warmupRounds: b.warmupRounds,
  };
}

/**
 * The pause after a side is entered: a sysctl or BPF attach switched per cell takes effect for
 * the next socket, so 200 ms suffice; a whole side (possibly a resumed guest) settles 2 s.
 */
export function defaultSettleMs(plan: Pick<BenchPlan, "pairing">): number {
  return plan.pairing === "cell" ? 200 : 2000;
}

export interface EstimateOptions {
  /** Default: defaultSettleMs(plan). */
  settleMs?: number;
  /** Length of a warm-up run. Default: durationSec. */
  warmupSec?: number;
}

/** Estimated wall time of a plan at its maximum number of rounds: the one estimator (runner budget, /bench, config check, CLI). */
export function estimatePlanSeconds(plan: BenchPlan, options: EstimateOptions = {}): number {
  const settleSec = (options.settleMs ?? defaultSettleMs(plan)) / 1000;
  const sides = plan.variants.length;
  const rounds = Math.max(plan.rounds, plan.maxRounds ?? plan.rounds);
  const warm = plan.warmup ? (options.warmupSec ?? plan.durationSec) + RUN_OVERHEAD_SEC : 0;
  const warmRounds = plan.warmup ? (plan.warmupRounds === "first" ? 1 : rounds) : 0;
  const measured = rounds * sides * plan.cells.length * plan.runsPerRound * (plan.durationSec + RUN_OVERHEAD_SEC);
  const warmups = warmRounds * sides * plan.cells.length * warm;
  const switches = sideEntries(plan);
  const repairs = (plan.repairPairs ?? 0) > 0 ? Math.ceil((plan.cells.length * rounds) / 4) * sides * (plan.runsPerRound * (plan.durationSec + RUN_OVERHEAD_SEC) + settleSec) : 0;
  const topologies = new Set(plan.cells.map((c) => c.topology)).size;
  return Math.ceil(measured + warmups + repairs + switches * settleSec + topologies * 1);
}

/**
 * How many times the scheduler enters a side at the plan's maximum rounds: once per side and
 * round with side pairing, once per side, cell and round with cell pairing. An upper bound on
 * side changes (ABBA puts two entries of one side back to back); pairs measured again after a
 * failed gate (cell pairing only) come on top.
 */
export function sideEntries(plan: Pick<BenchPlan, "variants" | "rounds" | "maxRounds" | "pairing" | "cells">): number {
  const rounds = Math.max(plan.rounds, plan.maxRounds ?? plan.rounds);
  return plan.pairing === "cell" ? rounds * plan.variants.length * plan.cells.length : rounds * plan.variants.length;
}

/** The plan of a bench config with its arms as further sides (whether or not the flow ends up with kernel sides: an upper bound). */
function planWithArms(b: BenchSettings): BenchPlan {
  const arms = b.arms ?? [];
  return benchPlanOf(arms.length ? { ...b, variants: [...b.variants, ...arms] } : b);
}

/** Estimated runner seconds of a bench config, as the bench stage will run it (adaptive up to maxRounds). */
export function estimateBenchSeconds(b: BenchSettings): number {
  return estimatePlanSeconds(planWithArms(b));
}

/** Side entries of a bench config with its arms (see sideEntries). */
export function benchSideEntries(b: BenchSettings): number {
  return sideEntries(planWithArms(b));
}

export interface PlanCheckOptions extends EstimateOptions {
  budgetSec?: number;
  cpuCount?: number;
}

/**
 * Every reason the plan cannot run, in words (empty = it can): the checks that hold whatever
 * runs the sides. `extra` are the side sessions' own reasons (e.g. a sysctl not allowed on the
 * host); the budget is checked only when there is no other reason.
 */
export function planProblems(plan: BenchPlan, options: PlanCheckOptions = {}, extra: readonly string[] = []): string[] {
  const errs: string[] = [];
  const int = (v: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) errs.push(`${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  };
  if (!Array.isArray(plan.cells) || plan.cells.length === 0) errs.push("no cells to run");
  const seen = new Set<string>();
  for (const c of plan.cells ?? []) {
    if (!(BENCH_TESTS as readonly string[]).includes(c.test)) errs.push(`unknown test ${JSON.stringify(c.test)} (known: ${BENCH_TESTS.join(", ")})`);
    if (!(TOPOLOGIES as readonly string[]).includes(c.topology)) errs.push(`unknown topology ${JSON.stringify(c.topology)} (known: ${TOPOLOGIES.join(", ")})`);
    if (!Number.isInteger(c.size) || c.size < 1 || c.size > MAX_SIZE) errs.push(`size ${String(c.size)} of ${c.test}/${c.topology} must be an integer in 1..${MAX_SIZE} bytes`);
    const k = cellKey(c);
    if (seen.has(k)) errs.push(`cell ${k} is listed twice`);
    seen.add(k);
  }
  if (!Array.isArray(plan.variants) || plan.variants.length < 2) errs.push("at least two variants are needed: [A = baseline, B = candidate, …]");
  else {
    const names = plan.variants.map((v) => v.name);
    if (names.some((n) => !n) || new Set(names).size !== names.length) errs.push("the variants need distinct, non-empty names");
  }
  errs.push(...extra);
  int(plan.rounds, "rounds", 1, 1000);
  int(plan.runsPerRound, "runsPerRound", 1, 1000);
  int(plan.durationSec, "durationSec", 1, 3600);
  int(plan.seed, "seed", 0);
  if (plan.maxRounds !== undefined) {
    int(plan.maxRounds, "maxRounds", 1, 1000);
    if (plan.maxRounds < plan.rounds) errs.push(`maxRounds (${plan.maxRounds}) is below rounds (${plan.rounds})`);
  }
  if (plan.design !== "ABBA" && plan.design !== "ABAB") errs.push(`design must be ABBA or ABAB, got ${String(plan.design)}`);
  if (plan.pairing !== undefined && plan.pairing !== "side" && plan.pairing !== "cell") errs.push(`pairing must be side or cell, got ${String(plan.pairing)}`);
  if (plan.warmupRounds !== undefined && plan.warmupRounds !== "all" && plan.warmupRounds !== "first") errs.push(`warmupRounds must be all or first, got ${String(plan.warmupRounds)}`);
  if (plan.repairPairs !== undefined) {
    int(plan.repairPairs, "repairPairs", 0, 10);
    if (plan.repairPairs > 0 && plan.pairing !== "cell") errs.push("repairPairs needs pairing cell (a pair is re-measured back to back)");
  }
  if (plan.pinning !== null) {
    const max = options.cpuCount !== undefined ? options.cpuCount - 1 : 4095;
    int(plan.pinning?.local, "pinning.local", 0, max);
    int(plan.pinning?.remote, "pinning.remote", 0, max);
  }
  if (errs.length === 0 && options.budgetSec !== undefined) {
    const est = estimatePlanSeconds(plan, options);
    if (est > options.budgetSec) {
      const rounds = Math.max(plan.rounds, plan.maxRounds ?? plan.rounds);
      errs.push(
        `matrix too large: ${plan.cells.length} cells × ${plan.variants.length} variants × ${rounds} rounds × ${plan.runsPerRound} runs × ${plan.durationSec} s ≈ ${est} s, over the budget of ${options.budgetSec} s`,
      );
    }
  }
  return errs;
}
