import type { Queue } from "bullmq";
import type { Logger } from "../lib/logger.ts";
import { setFlowStatus } from "../store/flow-repository.ts";
import type { Db } from "../store/open-store.ts";
import { reportJobId } from "./job-ids.ts";

/** What happens to a pending flow that is withdrawn. */
export type CancelOutcome = "removed" | "running" | "absent";
export type CancelFlow = (flowId: string) => Promise<CancelOutcome>;

/**
 * Production canceller: remove the flow's report job and its children
 * (https://docs.bullmq.io/guide/flows#removing-jobs). BullMQ refuses while a
 * job of the flow is active (locked): that one finishes, its report goes out.
 */
export function createFlowCanceller(queue: Queue): CancelFlow {
  return async (flowId) => {
    const id = reportJobId(flowId);
    const job = await queue.getJob(id);
    if (!job) return "absent";
    const state = await job.getState();
    if (state === "active" || state === "completed" || state === "failed") return "running";
    return (await queue.remove(id, { removeChildren: true })) === 1 ? "removed" : "running";
  };
}

/**
 * Withdraw flows replaced by newer work (a mail v2, a pushed PR): remove
 * their queued jobs and mark them in the store. A flow already running is
 * left alone (its report still goes out) and returned in `running`.
 */
export async function withdrawFlows(
  deps: { db: Db; cancelFlow: CancelFlow; log: Logger },
  flowIds: readonly string[],
  why: { status: "superseded" | "cancelled"; by: string },
): Promise<{ withdrawn: string[]; running: string[] }> {
  const withdrawn: string[] = [];
  const running: string[] = [];
  for (const flowId of flowIds) {
    const outcome = await deps.cancelFlow(flowId);
    if (outcome === "running") {
      deps.log.info({ flowId, by: why.by }, `${why.status} flow already running; its report still goes out`);
      running.push(flowId);
      continue;
    }
    await setFlowStatus(deps.db, flowId, why.status, true);
    withdrawn.push(flowId);
    deps.log.info({ flowId, by: why.by, outcome }, `flow ${why.status}`);
  }
  return { withdrawn, running };
}
