import type { BenchConfig } from "../config/schema.ts";
import { BENCH_TESTS, TOPOLOGIES } from "../domain/bench.ts";
import { validatePlan } from "../runner/bench/run-matrix.ts";
import { benchPlanOf } from "../domain/bench-plan.ts";
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

/**
 * Flags over the tree's bench config (flags win). Every bad flag is named:
 * with `reasons` the problems are added to it (the caller reports them with
 * its own), otherwise they are thrown together as one input error.
 */
export function applyBenchFlags(base: BenchConfig, f: BenchFlags, reasons?: string[]): BenchConfig {
  const problems: string[] = [];
  // Ranges (sizes up to 1 MiB, rounds 2..64, ...) are the plan validation's to name.
  const intFlag = (name: string, v: string | undefined, min = 1): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < min) {
      problems.push(`--${name} expects a whole number${min > 0 ? ` >= ${min}` : ""}, got "${v}"`);
      return undefined;
    }
    return Number(v);
  };
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
  if (f.sizes) {
    const sizes = f.sizes.split(",").map((s) => intFlag("sizes", s.trim(), 0));
    if (sizes.every((s) => s !== undefined)) out.sizes = sizes as number[];
  }
  if (f.topologies !== undefined) {
    const t = namesFlag("topologies", "topology", f.topologies, TOPOLOGIES, problems);
    if (t) out.topologies = t;
  }
  if (f.tests !== undefined) {
    const t = namesFlag("tests", "test", f.tests, BENCH_TESTS, problems);
    if (t) out.tests = t;
  }
  if (reasons) reasons.push(...problems);
  else if (problems.length > 0) throw inputError(listReasons(problems));
  return out;
}

/**
 * A comma-separated list of names the config schema knows (its enums): each
 * unknown one is a problem; undefined unless the whole list is good.
 */
export function namesFlag<T extends string>(flag: string, what: string, value: string, known: readonly T[], problems: string[]): T[] | undefined {
  const names = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (names.length === 0) {
    problems.push(`--${flag} names no ${what} (known: ${known.join(", ")})`);
    return undefined;
  }
  const bad = names.filter((n) => !(known as readonly string[]).includes(n));
  for (const n of bad) problems.push(`unknown ${what} "${n}" (known: ${known.join(", ")})`);
  return bad.length === 0 ? (names as T[]) : undefined;
}

/** Several reasons in one line: "2 problems: a; b". */
export function listReasons(reasons: readonly string[]): string {
  return reasons.length === 1 ? reasons[0]! : `${reasons.length} problems: ${reasons.join("; ")}`;
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
