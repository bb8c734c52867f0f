import type { BuildData } from "./results.ts";
import { type BenchSettings, benchSideEntries, estimateBenchSeconds } from "./bench-plan.ts";

/** What the kernels of a flow cost besides its netperf runs: two builds and the guests' boots. */
export interface KernelCosts {
  baseBuildSec: number;
  candidateBuildSec: number;
  /** A guest's first boot (the build stage's probe boots show what a boot costs on this tree). */
  bootSec: number;
  /** Booting a guest again for its next round or turn (`bench.bootEvery`): the same boot, no build, no probe. */
  rebootSec: number;
  /** Where the figures come from, in the acknowledgement's words. */
  source: string;
  /** The flow whose kept base and candidate kernels the runner is expected to boot again (no build). */
  keptFrom?: string;
}

/**
 * Without any build of the tree to go by: a cold base build (no ccache) and a candidate that
 * reuses the base's objects, on a 2-vCPU runner; a QEMU TCG boot of a guest. Deliberately
 * high: an estimate gates a request against the operator's limit.
 */
export const DEFAULT_KERNEL_COSTS: KernelCosts = {
  baseBuildSec: 900,
  candidateBuildSec: 300,
  bootSec: 60,
  // A guest boot to its agent took 6.4–7.1 s (median) under TCG in this project's kernel tier; doubled.
  rebootSec: 15,
  source: "default build times (no build of this tree yet)",
};

/** A build stage the store kept, and the base commit its flow was built on. */
export interface PastBuild {
  base: string | null;
  data: BuildData;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
};

/**
 * Pure: the kernel costs a runner showed lately (newest first). A base commit built before on
 * this tree is a ccache hit: it costs what a candidate build does.
 */
export function kernelCostsOf(past: readonly PastBuild[], baseCommit: string | null = null): KernelCosts {
  const sec = (ms: number) => Math.ceil(ms / 1000);
  // A kept kernel that was booted again says nothing about what a build costs.
  const built = (k: BuildData["base"]): k is NonNullable<BuildData["base"]> => k?.ok === true && !k.reused;
  const bases = past.flatMap((p) => (built(p.data.base) ? [sec(p.data.base.durationMs)] : []));
  const candidates = past.flatMap((p) => (built(p.data.candidate) ? [sec(p.data.candidate.durationMs)] : []));
  const boots = past.flatMap((p) => p.data.boots.filter((b) => b.outcome === "ok").map((b) => sec(b.durationMs)));
  if (candidates.length === 0) return DEFAULT_KERNEL_COSTS;
  const candidateBuildSec = median(candidates);
  const baseBuilt = baseCommit !== null && past.some((p) => p.base === baseCommit && p.data.base?.ok);
  return {
    baseBuildSec: baseBuilt ? candidateBuildSec : bases.length > 0 ? median(bases) : DEFAULT_KERNEL_COSTS.baseBuildSec,
    candidateBuildSec,
    bootSec: boots.length > 0 ? median(boots) : DEFAULT_KERNEL_COSTS.bootSec,
    // A probe boot is a guest boot plus a second of probes: what booting again for a round costs at most.
    rebootSec: boots.length > 0 ? median(boots) : DEFAULT_KERNEL_COSTS.rebootSec,
    source: `the last ${candidates.length} build(s) of this tree${baseBuilt ? "; this base was built before" : ""}`,
  };
}

/**
 * Pure: the costs when an earlier flow of the same series (same head) built both kernels: a
 * runner that kept them boots them again, so no build is counted. Optimistic only when the
 * runner has pruned them (artifact retention) or another pool takes the job.
 */
export function withKeptKernels(costs: KernelCosts, flowId: string): KernelCosts {
  return { ...costs, baseBuildSec: 0, candidateBuildSec: 0, keptFrom: flowId };
}

/**
 * Runner seconds of a flow's build and bench: the one estimate behind `/bench` limits and
 * acknowledgements. `kernels` null: the sides are settings on the runner's own kernel (no
 * build, no boot). With kernel sides every side is a guest: base, candidate, arms, booted once
 * per job, afresh for every round (up to maxRounds), or at every change of side (`bench.bootEvery`).
 */
export function estimateFlowSeconds(bench: BenchSettings, kernels: KernelCosts | null): number {
  const run = estimateBenchSeconds(bench);
  const guests = 2 + (bench.arms?.length ?? 0);
  const rounds = Math.max(bench.rounds, bench.maxRounds);
  // side: one kernel up at a time, a boot at every change of side (at most one per side entry).
  const reboots = bench.bootEvery === "job" ? 0 : bench.bootEvery === "side" ? benchSideEntries(bench) : guests * (rounds - 1);
  return kernels === null ? run : run + kernelSeconds(kernels, guests) + reboots * kernels.rebootSec;
}

/** The builds of base and candidate and one first boot per guest. */
export function kernelSeconds(costs: KernelCosts, guests: number): number {
  return costs.baseBuildSec + costs.candidateBuildSec + guests * costs.bootSec;
}

/**
 * Runner seconds of one stage of a flow, split from the same estimate (estimateFlowSeconds) so
 * that the stages of a kernel flow add up to it: the build stage is the two builds, the bench
 * the rest (its runs, the guests' boots). `kernels` null: the flow builds no kernel. Apply,
 * checks and selftests are not estimated (0): minutes against the bench's tens of minutes.
 */
export function stageSeconds(stage: string, bench: BenchSettings & { sides?: string }, kernels: KernelCosts | null): number {
  const builds = kernels ? kernels.baseBuildSec + kernels.candidateBuildSec : 0;
  if (stage === "build") return builds;
  if (stage !== "bench") return 0;
  const kernelSides = kernels !== null && bench.sides !== "settings";
  return estimateFlowSeconds(bench, kernelSides ? kernels : null) - (kernelSides ? builds : 0);
}
