import type { FlowProducer } from "bullmq";
import type { Logger } from "../lib/logger.ts";
import type { Db } from "../store/open-store.ts";
import { createFlowIfAbsent, getFlow } from "../store/flow-repository.ts";
import type { FlowPlan } from "./plan-flow.ts";

/**
 * Enqueue a planned flow once. The store is the record of flows: a flow it
 * knows is never enqueued again. The queue add comes first and is itself
 * idempotent (deterministic job ids), so a crash between the two steps is
 * repaired by the next attempt.
 */
export async function enqueueFlow(
  deps: { db: Db; flows: FlowProducer; log: Logger },
  plan: FlowPlan,
): Promise<{ created: boolean; flowId: string }> {
  if (await getFlow(deps.db, plan.flowId)) {
    deps.log.info({ flowId: plan.flowId, seriesId: plan.seriesId }, "flow exists; not enqueued again");
    return { created: false, flowId: plan.flowId };
  }
  await deps.flows.add(plan.job);
  const created = await createFlowIfAbsent(deps.db, {
    id: plan.flowId,
    seriesId: plan.seriesId,
    tree: plan.tree,
    base: plan.base,
    plan: plan.planJson,
    // Kept so a Redis that lost its data can be given the same flow again (reconcile-flows.ts).
    job: JSON.stringify(plan.job),
  });
  deps.log.info({ flowId: plan.flowId, seriesId: plan.seriesId, created }, "flow enqueued");
  return { created, flowId: plan.flowId };
}
