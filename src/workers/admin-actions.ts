import { FlowProducer, Queue } from "bullmq";
import type { Config } from "../config/schema.ts";
import type { RedisOptions } from "ioredis";
import { syntheticMessageId } from "../ingest/mail/assemble-mailbox.ts";
import { parseMessageHeaders } from "../ingest/mail/parse-message.ts";
import type { Logger } from "../lib/logger.ts";
import { createFlowCanceller, withdrawFlows } from "../queue/cancel-flow.ts";
import { ORCHESTRATOR_QUEUE, poolQueue } from "../queue/queue-names.ts";
import { bullConnection } from "../queue/redis-connection.ts";
import { getFlow } from "../store/flow-repository.ts";
import type { Db } from "../store/open-store.ts";
import { getQuarantined, releaseQuarantined } from "../store/quarantine-repository.ts";
import type { AdminAction } from "../web/parse-admin-request.ts";
import { reassembleOnNextPoll } from "./mail-poller.ts";
import { rerunFlow } from "./rerun-flow.ts";

/** The mail with a Message-ID header first, in the line ending its header already uses. */
export function withMessageIdHeader(raw: Uint8Array, messageId: string): Uint8Array {
  const nl = Buffer.from(raw).indexOf(10);
  const eol = nl > 0 && raw[nl - 1] === 13 ? "\r\n" : "\n";
  return Buffer.concat([Buffer.from(`Message-ID: <${messageId}>${eol}`), raw]);
}

/**
 * Let a quarantined mail in: its kept bytes are stored as if they had just arrived, and the next
 * poll assembles them with the rest. A mail without a Message-ID gets the synthetic one its bytes
 * give (written into its header, so every later read sees it); its series' report then stays unmailed,
 * as for local input, since no list has that id to answer.
 */
async function releaseMail(deps: { db: Db; log: Logger }, id: number): Promise<string> {
  const row = await getQuarantined(deps.db, id);
  if (!row) return `no quarantined mail ${id}`;
  if (!row.raw) return `quarantined mail ${id} was not kept (${row.reason}); there is nothing to release`;
  let messageId: string | null;
  try {
    messageId = parseMessageHeaders(row.raw).messageId;
  } catch (e) {
    return `quarantined mail ${id} still has unreadable headers (${e instanceof Error ? e.message : String(e)}); not released`;
  }
  const as = messageId ?? syntheticMessageId(row.raw);
  const raw = messageId ? row.raw : withMessageIdHeader(row.raw, as);
  if (!(await releaseQuarantined(deps.db, id, as, raw))) return `quarantined mail ${id} was released already`;
  await reassembleOnNextPoll(deps.db);
  deps.log.info({ quarantineId: id, messageId: as, by: "dashboard" }, "quarantined mail released");
  return `mail ${id} released as <${as}>; the next poll reads it`;
}

/**
 * What the dashboard's admin forms do, through the queue's own operations: cancel a flow
 * as a superseded one is withdrawn (a running one finishes and reports), run a finished one
 * again as a fresh flow (rerun-flow.ts), pause or resume a
 * pool's queue (BullMQ: running jobs finish, no new one starts).
 */
export function createAdminActions(deps: { db: Db; redis: RedisOptions; prefix: string; log: Logger; config: Config }) {
  const queues = new Map<string, Queue>();
  let flows: FlowProducer | null = null;
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
      if (a.kind === "release") return releaseMail(deps, a.quarantineId);
      if (a.kind === "rerun") {
        flows ??= new FlowProducer({ connection: bullConnection(deps.redis), prefix: deps.prefix });
        return rerunFlow({ db: deps.db, flows, config: deps.config, log: deps.log }, a.flowId);
      }
      const q = queue(poolQueue(a.pool));
      if (a.kind === "pause") await q.pause();
      else await q.resume();
      deps.log.info({ pool: a.pool, by: "dashboard" }, `pool ${a.kind}d`);
      return `pool ${a.pool} ${a.kind}d`;
    },
    async close(): Promise<void> {
      await Promise.all([...queues.values()].map((q) => q.close()));
      await flows?.close();
    },
  };
}

export type AdminActions = ReturnType<typeof createAdminActions>;
