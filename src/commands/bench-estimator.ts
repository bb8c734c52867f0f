import type { BenchConfig } from "../config/schema.ts";
import { estimateFlowSeconds, type KernelCosts, kernelCostsOf } from "../domain/flow-estimate.ts";
import type { Db } from "../store/open-store.ts";
import { listRecentBuilds } from "../store/result-repository.ts";

export interface BenchEstimator {
  /** For BenchPolicy: a flow's runner seconds, builds and boots included when the sides are kernels. */
  estimateSeconds: (bench: BenchConfig, kernels: boolean) => number;
  costs: KernelCosts;
}

/**
 * The estimate a `/bench` answer and its limits go by, for one tree: kernel costs from the
 * tree's recent builds in the store (ccache-aware: a base built before costs what a candidate
 * does), the defaults when there are none.
 */
export async function benchEstimatorFor(db: Db, tree: string, baseCommit: string | null = null): Promise<BenchEstimator> {
  const costs = kernelCostsOf(await listRecentBuilds(db, tree), baseCommit);
  return { costs, estimateSeconds: (bench, kernels) => estimateFlowSeconds(bench, kernels ? costs : null) };
}
