import type { BenchConfig, TreeConfig } from "../config/schema.ts";
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
  | {
      ok: true;
      bench: BenchConfig;
      pool: string;
      /** Runner time with the kernel builds and boots when the sides are kernels. */
      estimateSec: number;
      /** The runner stages of the flow (kernel=host leaves the build out). */
      stages: TreeConfig["stages"];
      sides: "kernels" | "settings";
    }
  | { ok: false; message: string };

/** The tree a request runs on: its bench config and its stages (a build makes kernel sides). */
export interface BenchTree {
  bench: BenchConfig;
  stages: TreeConfig["stages"];
}

/**
 * Pure: a parsed request over the tree's bench config, checked against the
 * limits. By default the sides are the base and the candidate kernel (when the
 * tree builds kernels); `kernel=host` is the sysctl A/B on the runner's own
 * kernel. `estimateSeconds` is the runner's own estimate, builds and boots
 * included for kernel sides (passed in, so this module stays free of runner code).
 */
export function planBenchRequest(
  tree: BenchTree,
  request: BenchRequest,
  limits: BenchLimits,
  defaultPool: string,
  estimateSeconds: (bench: BenchConfig, kernels: boolean) => number,
): PlannedBench {
  const base = tree.bench;
  const builds = tree.stages.includes("build");
  const host = request.kernel === "host" || !builds;
  if (request.kernel === "series" && !builds) {
    return { ok: false, message: `kernel: this tree builds no kernels (stages: ${tree.stages.join(", ")}); only kernel=host is available` };
  }
  if (request.arm && !builds) {
    return { ok: false, message: `arm: an arm is a side on the candidate kernel, and this tree builds no kernels (stages: ${tree.stages.join(", ")})` };
  }
  if (request.variant && !host) {
    return { ok: false, message: "variant: sets the B side of the host A/B; add kernel=host for that, or use arm= for a setting on the series' kernel" };
  }
  const bench: BenchConfig = { ...base, sides: host ? "settings" : "kernels" };
  if (request.arm) {
    if (base.arms.some((a) => a.name === request.arm!.name)) return { ok: false, message: `arm: ${request.arm.name} is already an arm of this tree` };
    if (base.arms.length >= 3) return { ok: false, message: `arm: this tree has ${base.arms.length} arms already; at most 3` };
    bench.arms = [
      ...base.arms,
      {
        name: request.arm.name,
        settings: [
          ...request.arm.settings.map((x) => ({ kind: "sysctl" as const, key: x.key, value: String(x.value) })),
          // Programs of the series' selftests: the build stage compiles them from the candidate tree.
          ...request.arm.programs.map((p) =>
            p.kind === "bpf-cgroup"
              ? { kind: "bpf-cgroup" as const, object: p.name, source: "series" as const }
              : { kind: "tc-bpf" as const, object: p.name, section: "tc", side: "client" as const, source: "series" as const },
          ),
        ],
        claimedAs: null,
      },
    ];
  }
  // The host A/B runs no kernel of the series: its flow neither builds, boots nor selftests one.
  const stages = host ? tree.stages.filter((s) => s !== "build" && s !== "selftests") : tree.stages;
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
  const estimateSec = estimateSeconds(bench, !host);
  if (estimateSec > limits.maxRunnerMinutes * 60) {
    return {
      ok: false,
      message: `estimated runner time ${Math.ceil(estimateSec / 60)} min${host ? "" : " (kernel builds and boots included)"} exceeds the limit of ${limits.maxRunnerMinutes} min; ask for fewer cells or rounds`,
    };
  }
  return { ok: true, bench, pool, estimateSec, stages, sides: host ? "settings" : "kernels" };
}
