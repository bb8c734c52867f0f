import type { Selectable } from "kysely";
import type { Db } from "./open-store.ts";
import type { DeliveryTable } from "./schema.ts";

/**
 * The outbox (`deliveries`), every channel's rows in one shape. A delivery
 * row (with its Message-ID) is written before any side effect and marked
 * afterwards; a retried job finds the row and does not send twice. States:
 *  - pending: reserved (Message-ID fixed, .eml written; no claim yet) or an
 *    attempt in flight (claim_id/claimed_at: the lease); a claim older than
 *    the lease may be a sender that died after handing the message to SMTP
 *    and before marking it, and may be taken over;
 *  - sent: handed over (or written, in dry run); never sent again;
 *  - failed: the last attempt failed; the drain retries it with backoff;
 *  - held: the policy kept it off the list (quiet, rate limit).
 * `lastError` holds the latest note: an error, or why it was held.
 */
export interface Delivery {
  id: string;
  flowId: string;
  channel: string;
  messageId: string | null;
  status: "pending" | "sent" | "failed" | "held";
  /** Mail: envelope recipients, bare addresses joined by ", ". */
  target: string;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  sentAt: string | null;
  claimId: string | null;
  claimedAt: string | null;
}

function toDelivery(r: Selectable<DeliveryTable>): Delivery {
  return {
    id: r.id,
    flowId: r.flow_id,
    channel: r.channel,
    messageId: r.message_id,
    status: r.status as Delivery["status"],
    target: r.target,
    attempts: r.attempts,
    lastError: r.last_error,
    createdAt: r.created_at,
    sentAt: r.sent_at,
    claimId: r.claim_id,
    claimedAt: r.claimed_at,
  };
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
  return toDelivery(await db.selectFrom("deliveries").selectAll().where("id", "=", d.id).executeTakeFirstOrThrow());
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

export async function listDeliveries(db: Db, flowId?: string): Promise<Delivery[]> {
  let q = db.selectFrom("deliveries").selectAll();
  if (flowId) q = q.where("flow_id", "=", flowId);
  return (await q.orderBy("created_at").execute()).map(toDelivery);
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

export async function getDelivery(db: Db, id: string): Promise<Delivery | null> {
  const r = await db.selectFrom("deliveries").selectAll().where("id", "=", id).executeTakeFirst();
  return r ? toDelivery(r) : null;
}

export async function holdMail(db: Db, id: string, reason: string): Promise<void> {
  await db
    .updateTable("deliveries")
    .set({ status: "held", last_error: reason.slice(0, 500) })
    .where("id", "=", id)
    .where("status", "=", "pending")
    .where("attempts", "=", 0)
    .execute();
}

/** Mail rows that still have to leave: failed, or pending (maybe orphaned by a crash). */
export async function listUnsentMail(db: Db): Promise<Delivery[]> {
  const rows = await db
    .selectFrom("deliveries")
    .selectAll()
    .where("channel", "=", "smtp")
    .where("status", "in", ["pending", "failed"])
    .orderBy("created_at")
    .execute();
  return rows.map(toDelivery);
}

export async function listMail(db: Db): Promise<Delivery[]> {
  const rows = await db.selectFrom("deliveries").selectAll().where("channel", "in", ["smtp", "outbox"]).orderBy("created_at").execute();
  return rows.map(toDelivery);
}

/**
 * Mails sent over SMTP since `since`: to the thread of this series, and to
 * each of the given list addresses (for the rate limits).
 */
export async function countRecentMail(
  db: Db,
  q: { seriesId: string; lists: readonly string[]; since: Date },
): Promise<{ thread: number; perList: Record<string, number> }> {
  const since = q.since.toISOString();
  const rows = await db
    .selectFrom("deliveries")
    .leftJoin("flows", "flows.id", "deliveries.flow_id")
    .select(["deliveries.target as target", "flows.series_id as seriesId"])
    .where("deliveries.channel", "=", "smtp")
    .where("deliveries.status", "=", "sent")
    .where("deliveries.sent_at", ">=", since)
    .execute();
  const perList: Record<string, number> = {};
  for (const l of q.lists) perList[l.toLowerCase()] = 0;
  let thread = 0;
  for (const r of rows) {
    if (r.seriesId === q.seriesId) thread++;
    const addrs = new Set(r.target.split(", ").map((a) => a.toLowerCase()));
    for (const l of Object.keys(perList)) if (addrs.has(l)) perList[l] = (perList[l] ?? 0) + 1;
  }
  return { thread, perList };
}
