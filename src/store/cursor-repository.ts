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

/** The cursor row (per source) holding the fencing token of the last fenced write. */
const FENCE_KEY = "~fence";
/** Tokens are stored zero-padded, so the text column compares them as numbers. */
const fenceText = (fence: number): string => String(fence).padStart(16, "0");

/** The fencing token of a source's last fenced cursor write (0: none yet). */
export async function getFence(db: Db, source: string): Promise<number> {
  return Number((await getCursor(db, source, FENCE_KEY)) ?? "0");
}

/**
 * Writes a cursor only if `fence` is not older than the source's last fenced
 * write, and records it as the newest; false (nothing written) when a newer
 * lease holder has written since. One transaction: the fence row's lock
 * orders concurrent writers on PostgreSQL, SQLite has one writer anyway.
 */
export async function setCursorFenced(db: Db, source: string, key: string, value: string, fence: number): Promise<boolean> {
  const f = fenceText(fence);
  return db.transaction().execute(async (tx) => {
    const now = new Date().toISOString();
    const r = await tx
      .insertInto("cursors")
      .values({ source, key: FENCE_KEY, value: f, updated_at: now })
      .onConflict((oc) => oc.columns(["source", "key"]).doUpdateSet({ value: f, updated_at: now }).where("cursors.value", "<=", f))
      .executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows ?? 0n) === 0) return false;
    await tx
      .insertInto("cursors")
      .values({ source, key, value, updated_at: now })
      .onConflict((oc) => oc.columns(["source", "key"]).doUpdateSet({ value, updated_at: now }))
      .execute();
    return true;
  });
}
