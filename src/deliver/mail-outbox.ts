import type { Db } from "../store/open-store.ts";

/**
 * The mail side of the outbox table (`deliveries`), beyond reserve/mark in
 * store/delivery-repository.ts. Row states for mail:
 *  - pending: reserved (Message-ID fixed, .eml written; no claim yet) or an
 *    attempt in flight (claim_id/claimed_at: the lease); a claim older than
 *    the lease may be a sender that died after handing the message to SMTP
 *    and before marking it, and may be taken over;
 *  - sent: handed to SMTP (or written, in dry run); never sent again;
 *  - failed: the last attempt failed; the drain retries it with backoff;
 *  - held: the policy kept it off the list (quiet, rate limit).
 * `last_error` holds the latest note: an SMTP error, or why it was held.
 */
export interface MailRow {
  id: string;
  flowId: string;
  channel: string;
  messageId: string | null;
  status: string;
  /** Envelope recipients, bare addresses joined by ", ". */
  target: string;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  sentAt: string | null;
  claimId: string | null;
  claimedAt: string | null;
}

function toRow(r: {
  id: string;
  flow_id: string;
  channel: string;
  message_id: string | null;
  status: string;
  target: string;
  attempts: number;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
  claim_id: string | null;
  claimed_at: string | null;
}): MailRow {
  return {
    id: r.id,
    flowId: r.flow_id,
    channel: r.channel,
    messageId: r.message_id,
    status: r.status,
    target: r.target,
    attempts: r.attempts,
    lastError: r.last_error,
    createdAt: r.created_at,
    sentAt: r.sent_at,
    claimId: r.claim_id,
    claimedAt: r.claimed_at,
  };
}

export async function getMailRow(db: Db, id: string): Promise<MailRow | null> {
  const r = await db.selectFrom("deliveries").selectAll().where("id", "=", id).executeTakeFirst();
  return r ? toRow(r) : null;
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
export async function listUnsentMail(db: Db): Promise<MailRow[]> {
  const rows = await db
    .selectFrom("deliveries")
    .selectAll()
    .where("channel", "=", "smtp")
    .where("status", "in", ["pending", "failed"])
    .orderBy("created_at")
    .execute();
  return rows.map(toRow);
}

export async function listMail(db: Db): Promise<MailRow[]> {
  const rows = await db.selectFrom("deliveries").selectAll().where("channel", "in", ["smtp", "outbox"]).orderBy("created_at").execute();
  return rows.map(toRow);
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
