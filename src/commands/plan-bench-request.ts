import type { BenchConfig } from "../config/schema.ts";
import type { BenchRequest } from "./parse-bench-command.ts";

/** Operator limits on what a `/bench` request may ask for (config `github.bench`). */
export interface BenchLimits {
  /** Most cells (tests × sizes × topologies). */
  maxCells: number;
  minRounds: number;
  maxRounds: number;
  /** Most estimated runner time, minutes. */
  maxRunnerMinutes: number;
  /** Pools a request may name. */
  pools: readonly string[];
}

export type PlannedBench =
  | { ok: true; bench: BenchConfig; pool: string; estimateSec: number }
  | { ok: false; message: string };

/**
 * Pure: a parsed request over the tree's bench config, checked against the
 * limits. `estimateSeconds` is the runner's own estimate of a plan (passed
 * in, so this module stays free of runner code).
 */
export function planBenchRequest(
  base: BenchConfig,
  request: BenchRequest,
  limits: BenchLimits,
  defaultPool: string,
  estimateSeconds: (bench: BenchConfig) => number,
): PlannedBench {
  const bench: BenchConfig = { ...base };
  if (request.tests) bench.tests = request.tests;
  if (request.sizes) bench.sizes = request.sizes;
  if (request.topologies) bench.topologies = request.topologies;
  if (request.rounds !== undefined) {
    if (request.rounds < limits.minRounds || request.rounds > limits.maxRounds) {
      return { ok: false, message: `rounds: must be in ${limits.minRounds}..${limits.maxRounds}, got ${request.rounds}` };
    }
    // An explicit round count is a fixed design (no adaptive extension).
    bench.rounds = request.rounds;
    bench.maxRounds = request.rounds;
  } else if (bench.maxRounds > limits.maxRounds) {
    bench.maxRounds = Math.max(bench.rounds, limits.maxRounds);
  }
  if (request.variant) {
    const a = base.variants[0]!;
    const same = a.settings.some((s) => s.kind === "sysctl" && s.key === request.variant!.key && s.value === String(request.variant!.value));
    if (same) {
      return { ok: false, message: `variant: ${request.variant.knob}=${request.variant.value} is the baseline (A = ${a.name}); pick another value` };
    }
    bench.variants = [
      a,
      {
        name: `${request.variant.knob}=${request.variant.value}`,
        settings: [{ kind: "sysctl", key: request.variant.key, value: String(request.variant.value) }],
      },
    ];
  }
  const pool = request.runner ?? defaultPool;
  if (!limits.pools.includes(pool)) {
    return { ok: false, message: `runner: unknown pool "${pool}"; valid: ${limits.pools.join(", ")}` };
  }
  const cells = bench.tests.length * bench.sizes.length * bench.topologies.length;
  if (cells > limits.maxCells) {
    return {
      ok: false,
      message: `the matrix has ${cells} cells (${bench.tests.length} tests x ${bench.sizes.length} sizes x ${bench.topologies.length} topologies); the limit is ${limits.maxCells}`,
    };
  }
  const estimateSec = estimateSeconds(bench);
  if (estimateSec > limits.maxRunnerMinutes * 60) {
    return {
      ok: false,
      message: `estimated runner time ${Math.ceil(estimateSec / 60)} min exceeds the limit of ${limits.maxRunnerMinutes} min; ask for fewer cells or rounds`,
    };
  }
  return { ok: true, bench, pool, estimateSec };
}
