import type { BenchConfig } from "../config/schema.ts";
import { validatePlan } from "../runner/bench/run-matrix.ts";
import { benchPlanOf } from "../runner/run-bench-stage.ts";
import { inputError } from "../lib/errors.ts";

export interface BenchFlags {
  quick?: boolean;
  rounds?: string;
  runs?: string;
  duration?: string;
  sizes?: string;
  topologies?: string;
  tests?: string;
}

/**
 * The quick preset: STATISTICS.md's minimum of 4 rounds per side, short runs,
 * 2 sizes × loopback and container. Enough to see large effects in minutes.
 */
export const QUICK: Partial<BenchConfig> = {
  sizes: [1, 1024],
  topologies: ["loopback", "container"],
  rounds: 4,
  maxRounds: 4,
  runsPerRound: 2,
  durationSec: 1,
};

function intFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw inputError(`--${name} expects a whole number, got "${v}"`);
  return Number(v);
}

/** Flags over the tree's bench config (flags win). */
export function applyBenchFlags(base: BenchConfig, f: BenchFlags): BenchConfig {
  const out: BenchConfig = { ...base, ...(f.quick ? QUICK : {}) };
  const rounds = intFlag("rounds", f.rounds);
  if (rounds !== undefined) {
    // An explicit round count is a fixed design (no adaptive extension).
    out.rounds = rounds;
    out.maxRounds = rounds;
  }
  const runs = intFlag("runs", f.runs);
  if (runs !== undefined) out.runsPerRound = runs;
  const duration = intFlag("duration", f.duration);
  if (duration !== undefined) out.durationSec = duration;
  if (f.sizes) out.sizes = f.sizes.split(",").map((s) => intFlag("sizes", s.trim())!);
  if (f.topologies) out.topologies = f.topologies.split(",").map((s) => s.trim()) as BenchConfig["topologies"];
  if (f.tests) out.tests = f.tests.split(",").map((s) => s.trim()) as BenchConfig["tests"];
  return out;
}

/**
 * Refuse, before anything is queued, a bench matrix the runner would refuse:
 * unknown tests or sizes, bad variants, or more runner time than the budget.
 */
export function assertBenchPlanValid(bench: BenchConfig): void {
  try {
    validatePlan(benchPlanOf(bench), { budgetSec: bench.budgetSec });
  } catch (e) {
    throw inputError((e as Error).message, "use a smaller matrix (--quick, --sizes, --rounds) or raise bench.budgetSec");
  }
}
