import type { Db } from "./open-store.ts";

export async function quarantineMessage(
  db: Db,
  q: { messageId: string | null; reason: string; source: string; raw: Uint8Array | null },
): Promise<void> {
  await db
    .insertInto("quarantine")
    .values({ message_id: q.messageId, reason: q.reason, source: q.source, raw: q.raw, created_at: new Date().toISOString() })
    .execute();
}

export async function listQuarantine(db: Db) {
  return db.selectFrom("quarantine").select(["id", "message_id", "reason", "source", "created_at"]).orderBy("id").execute();
}

/** The newest quarantined mails, without their bytes (only whether they were kept). */
export async function listQuarantinePage(db: Db, limit: number) {
  const rows = await db
    .selectFrom("quarantine")
    .select((eb) => ["id", "message_id", "reason", "source", "created_at", eb.case().when("raw", "is not", null).then(1).else(0).end().as("kept")])
    .orderBy("id", "desc")
    .limit(limit)
    .execute();
  return rows.map((r) => ({ id: r.id, messageId: r.message_id, reason: r.reason, source: r.source, createdAt: r.created_at, kept: Number(r.kept) === 1 }));
}

export async function getQuarantined(db: Db, id: number) {
  return db.selectFrom("quarantine").select(["id", "message_id", "reason", "source", "raw"]).where("id", "=", id).executeTakeFirst();
}

/**
 * Let a quarantined mail in: its bytes join the stored mail as if they had just arrived
 * (under `messageId`), the quarantine row goes, in one transaction. False when the row is
 * gone already (released by someone else).
 */
export async function releaseQuarantined(db: Db, id: number, messageId: string, raw: Uint8Array): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    const gone = await tx.deleteFrom("quarantine").where("id", "=", id).executeTakeFirst();
    if (Number(gone.numDeletedRows) === 0) return false;
    await tx
      .insertInto("raw_mails")
      .values({ message_id: messageId, series_id: null, raw, created_at: new Date().toISOString() })
      .onConflict((oc) => oc.column("message_id").doNothing())
      .execute();
    return true;
  });
}
