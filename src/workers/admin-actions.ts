import { Queue } from "bullmq";
import type { RedisOptions } from "ioredis";
import type { Logger } from "../lib/logger.ts";
import { createFlowCanceller, withdrawFlows } from "../queue/cancel-flow.ts";
import { ORCHESTRATOR_QUEUE, poolQueue } from "../queue/queue-names.ts";
import { bullConnection } from "../queue/redis-connection.ts";
import { getFlow } from "../store/flow-repository.ts";
import type { Db } from "../store/open-store.ts";
import type { AdminAction } from "../web/parse-admin-request.ts";

/**
 * What the dashboard's admin forms do, through the queue's own operations: cancel a flow
 * as a superseded one is withdrawn (a running one finishes and reports), pause or resume a
 * pool's queue (BullMQ: running jobs finish, no new one starts).
 */
export function createAdminActions(deps: { db: Db; redis: RedisOptions; prefix: string; log: Logger }) {
  const queues = new Map<string, Queue>();
  const queue = (name: string) => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: bullConnection(deps.redis), prefix: deps.prefix });
      // Errors come back through the failed call; an unheard 'error' event would end the process.
      q.on("error", () => {});
      queues.set(name, q);
    }
    return q;
  };
  return {
    async perform(a: AdminAction): Promise<string> {
      if (a.kind === "cancel") {
        const flow = await getFlow(deps.db, a.flowId);
        if (!flow) return `no run ${a.flowId}`;
        if (flow.finishedAt !== null) return `${a.flowId} has finished (${flow.status}); nothing to cancel`;
        const r = await withdrawFlows({ db: deps.db, cancelFlow: createFlowCanceller(queue(ORCHESTRATOR_QUEUE)), log: deps.log }, [a.flowId], { status: "cancelled", by: "dashboard" });
        return r.running.length > 0 ? `${a.flowId} is already running; its report still goes out` : `${a.flowId} cancelled`;
      }
      const q = queue(poolQueue(a.pool));
      if (a.kind === "pause") await q.pause();
      else await q.resume();
      deps.log.info({ pool: a.pool, by: "dashboard" }, `pool ${a.kind}d`);
      return `pool ${a.pool} ${a.kind}d`;
    },
    async close(): Promise<void> {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}

export type AdminActions = ReturnType<typeof createAdminActions>;
