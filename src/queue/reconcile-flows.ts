import type { FlowProducer, Queue } from "bullmq";
import type { Logger } from "../lib/logger.ts";
import { listUnfinishedFlows } from "../store/flow-repository.ts";
import type { Db } from "../store/open-store.ts";
import { reportJobId } from "./job-ids.ts";
import { planReconcile, type ReconcileAction } from "./plan-reconcile.ts";

/**
 * Compare the store with the queue and give Redis back the flows it lost:
 * read (unfinished flows, their report jobs' states) → planReconcile (pure)
 * → enqueue with the stored jobs. Run at `patchbench start` and on a timer.
 */
export async function reconcileFlows(deps: { db: Db; flows: FlowProducer; orchestrator: Queue; log: Logger }): Promise<ReconcileAction[]> {
  const stored = await listUnfinishedFlows(deps.db);
  const states = new Map<string, string>();
  for (const f of stored) states.set(f.id, await deps.orchestrator.getJobState(reportJobId(f.id)));
  const actions = planReconcile(stored, states);
  for (const a of actions) {
    if (a.kind === "unrecoverable") {
      deps.log.warn({ flowId: a.flowId, why: a.why }, "flow lost by Redis cannot be enqueued again");
      continue;
    }
    await deps.flows.add(a.job);
    deps.log.info({ flowId: a.flowId, why: a.why }, "flow enqueued again: Redis no longer knew it");
  }
  return actions;
}
