import type { Db } from "./open-store.ts";

/**
 * The outbox. A delivery row (with its Message-ID) is written before any
 * side effect and marked afterwards; a retried job finds the row and does
 * not send twice.
 */
export interface Delivery {
  id: string;
  flowId: string;
  channel: string;
  messageId: string | null;
  status: "pending" | "sent" | "failed";
  target: string;
  attempts: number;
}

export async function reserveDelivery(
  db: Db,
  d: { id: string; flowId: string; channel: string; messageId: string | null; target: string },
): Promise<Delivery> {
  await db
    .insertInto("deliveries")
    .values({
      id: d.id,
      flow_id: d.flowId,
      channel: d.channel,
      message_id: d.messageId,
      status: "pending",
      target: d.target,
      attempts: 0,
      last_error: null,
      created_at: new Date().toISOString(),
      sent_at: null,
    })
    .onConflict((oc) => oc.column("id").doNothing())
    .execute();
  const r = await db.selectFrom("deliveries").selectAll().where("id", "=", d.id).executeTakeFirstOrThrow();
  return {
    id: r.id,
    flowId: r.flow_id,
    channel: r.channel,
    messageId: r.message_id,
    status: r.status as Delivery["status"],
    target: r.target,
    attempts: r.attempts,
  };
}

export async function markDelivery(db: Db, id: string, outcome: { ok: true } | { ok: false; error: string }) {
  await db
    .updateTable("deliveries")
    .set((eb) => ({
      attempts: eb("attempts", "+", 1),
      ...(outcome.ok
        ? { status: "sent", sent_at: new Date().toISOString(), last_error: null }
        : { status: "failed", last_error: outcome.error }),
    }))
    .where("id", "=", id)
    .execute();
}

export async function listDeliveries(db: Db, flowId?: string) {
  let q = db.selectFrom("deliveries").selectAll();
  if (flowId) q = q.where("flow_id", "=", flowId);
  return q.orderBy("created_at").execute();
}
