import type { BenchConfig } from "../config/schema.ts";
import { estimateFlowSeconds, type KernelCosts, kernelCostsOf, withKeptKernels } from "../domain/flow-estimate.ts";
import type { Db } from "../store/open-store.ts";
import { newestFlowWithKernels, listRecentBuilds } from "../store/result-repository.ts";

export interface BenchEstimator {
  /** For BenchPolicy: a flow's runner seconds, builds and boots included when the sides are kernels. */
  estimateSeconds: (bench: BenchConfig, kernels: boolean) => number;
  costs: KernelCosts;
}

/**
 * The estimate a `/bench` answer and its limits go by, for one tree: kernel costs from the
 * tree's recent builds in the store (ccache-aware: a base built before costs what a candidate
 * does), the defaults when there are none; no build at all when one of `sameHead` (earlier flows
 * of the same series, or of the pull request's current head) built both kernels, which the
 * runner keeps and boots again.
 */
export async function benchEstimatorFor(db: Db, tree: string, baseCommit: string | null = null, sameHead: readonly string[] = []): Promise<BenchEstimator> {
  const built = kernelCostsOf(await listRecentBuilds(db, tree), baseCommit);
  const kept = await newestFlowWithKernels(db, sameHead);
  const costs = kept ? withKeptKernels(built, kept) : built;
  return { costs, estimateSeconds: (bench, kernels) => estimateFlowSeconds(bench, kernels ? costs : null) };
}
