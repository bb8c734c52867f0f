import type { Db } from "./open-store.ts";

/** Per-source cursors (e.g. last seen mtime, git epoch head) so restarts resume. */
export async function getCursor(db: Db, source: string, key: string): Promise<string | undefined> {
  const r = await db.selectFrom("cursors").select("value").where("source", "=", source).where("key", "=", key).executeTakeFirst();
  return r?.value;
}

export async function setCursor(db: Db, source: string, key: string, value: string): Promise<void> {
  await db
    .insertInto("cursors")
    .values({ source, key, value, updated_at: new Date().toISOString() })
    .onConflict((oc) => oc.columns(["source", "key"]).doUpdateSet({ value, updated_at: new Date().toISOString() }))
    .execute();
}
