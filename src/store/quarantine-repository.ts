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
