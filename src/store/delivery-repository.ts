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
      claim_id: null,
      claimed_at: null,
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

/**
 * The outbox lease: take the next attempt at a row by compare-and-set. It
 * succeeds only when nobody holds the row (no claim) or the holder's lease
 * is older than `leaseMs` (a sender that died mid-attempt), so one sender at
 * a time hands a report to SMTP. The attempt counter counts claims.
 */
export async function claimDelivery(db: Db, id: string, claim: { claimId: string; now: Date; leaseMs: number }): Promise<boolean> {
  const cutoff = new Date(claim.now.getTime() - claim.leaseMs).toISOString();
  const r = await db
    .updateTable("deliveries")
    .set((eb) => ({ attempts: eb("attempts", "+", 1), status: "pending", claim_id: claim.claimId, claimed_at: claim.now.toISOString() }))
    .where("id", "=", id)
    .where("status", "in", ["pending", "failed"])
    .where((eb) => eb.or([eb("claim_id", "is", null), eb("claimed_at", "<=", cutoff)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * End an attempt. Success marks the row sent whoever holds it now (it did
 * leave; nobody may send it again). Failure releases the lease only when
 * this attempt still holds it: a taken-over row belongs to its new holder.
 */
export async function finishDelivery(
  db: Db,
  id: string,
  claimId: string,
  outcome: { ok: true; at: Date } | { ok: false; error: string },
): Promise<void> {
  if (outcome.ok) {
    await db
      .updateTable("deliveries")
      .set({ status: "sent", sent_at: outcome.at.toISOString(), last_error: null, claim_id: null })
      .where("id", "=", id)
      .where("status", "!=", "sent")
      .execute();
    return;
  }
  await db
    .updateTable("deliveries")
    .set({ status: "failed", last_error: outcome.error.slice(0, 500), claim_id: null })
    .where("id", "=", id)
    .where("status", "!=", "sent")
    .where("claim_id", "=", claimId)
    .execute();
}
