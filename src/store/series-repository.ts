import { ownMessageIds, type RawMails, type Series } from "../domain/series.ts";
import type { Db } from "./open-store.ts";
import { seriesSearchColumns } from "./series-search-columns.ts";

/** Save a series and its raw mails in one transaction (idempotent; mails kept on arrival join it). */
export async function saveSeries(db: Db, series: Series, raw: RawMails): Promise<void> {
  const now = new Date().toISOString();
  await db.transaction().execute(async (tx) => {
    await tx
      .insertInto("series")
      .values({
        id: series.id,
        source: series.source,
        title: series.title,
        version: series.version,
        tree: series.tree,
        data: JSON.stringify(series),
        created_at: now,
        previous_version: series.previousVersion,
        ...seriesSearchColumns(series),
      })
      .onConflict((oc) =>
        oc.column("id").doUpdateSet({ data: JSON.stringify(series), tree: series.tree, previous_version: series.previousVersion, ...seriesSearchColumns(series) }),
      )
      .execute();
    // The series' own mails, by which a patchwork state on one of them finds it (listSeriesWithMail).
    await tx.deleteFrom("series_mails").where("series_id", "=", series.id).execute();
    const own = [...new Set(ownMessageIds(series))].map((message_id) => ({ message_id, series_id: series.id }));
    if (own.length) await tx.insertInto("series_mails").values(own).execute();
    // The lists its mails came through, by which the series list is filtered.
    await tx.deleteFrom("series_lists").where("series_id", "=", series.id).execute();
    const lists = [...new Set(series.lists ?? [])].map((list_id) => ({ list_id, series_id: series.id }));
    if (lists.length) await tx.insertInto("series_lists").values(lists).execute();
    for (const [messageId, bytes] of raw) {
      await tx
        .insertInto("raw_mails")
        .values({ message_id: messageId, series_id: series.id, raw: bytes, created_at: now })
        // A mail kept on arrival (polled list mail, series_id null) joins its series now; its first
        // bytes stay, and a mail already claimed by a series is not moved.
        .onConflict((oc) => oc.column("message_id").doUpdateSet({ series_id: series.id }).where("raw_mails.series_id", "is", null))
        .execute();
    }
  });
}

export async function getSeries(db: Db, id: string): Promise<Series | undefined> {
  const row = await db.selectFrom("series").select("data").where("id", "=", id).executeTakeFirst();
  return row ? (JSON.parse(row.data) as Series) : undefined;
}

export async function getRawMails(db: Db, seriesId: string): Promise<Map<string, Uint8Array>> {
  const rows = await db.selectFrom("raw_mails").select(["message_id", "raw"]).where("series_id", "=", seriesId).execute();
  return new Map(rows.map((r) => [r.message_id, r.raw]));
}

/** Stored raw mails by Message-ID, whichever series claimed them (a partial re-roll's carried patches are its predecessor's). */
export async function getRawMailsById(db: Db, messageIds: readonly string[]): Promise<Map<string, Uint8Array>> {
  if (messageIds.length === 0) return new Map();
  const rows = await db.selectFrom("raw_mails").select(["message_id", "raw"]).where("message_id", "in", [...messageIds]).execute();
  return new Map(rows.map((r) => [r.message_id, r.raw]));
}

/** Keep an incoming raw mail (first copy wins). Returns false when already known. */
export async function saveIncomingMail(db: Db, messageId: string, raw: Uint8Array): Promise<boolean> {
  const r = await db
    .insertInto("raw_mails")
    .values({ message_id: messageId, series_id: null, raw, created_at: new Date().toISOString() })
    .onConflict((oc) => oc.column("message_id").doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

/** Raw mails received since a moment (the window series are assembled from). */
export async function listRecentMails(db: Db, sinceIso: string): Promise<Uint8Array[]> {
  const rows = await db.selectFrom("raw_mails").select("raw").where("created_at", ">=", sinceIso).orderBy("created_at").execute();
  return rows.map((r) => r.raw);
}

/** Stored mail that arrived since `sinceIso` (oldest first), with its arrival time. */
export async function listRawMailsSince(db: Db, sinceIso: string): Promise<{ messageId: string; raw: Uint8Array; arrivedAt: number }[]> {
  const rows = await db
    .selectFrom("raw_mails")
    .select(["message_id", "raw", "created_at"])
    .where("created_at", ">=", sinceIso)
    .orderBy("created_at")
    .execute();
  return rows.map((r) => ({ messageId: r.message_id, raw: r.raw, arrivedAt: Date.parse(r.created_at) }));
}

/** Series whose stored data names this Message-ID (as a JSON string: cover, patch or trailer source). */
export async function listSeriesMentioning(db: Db, messageId: string): Promise<string[]> {
  const rows = await db
    .selectFrom("series")
    .select("id")
    .where("data", "like", `%${JSON.stringify(messageId)}%`)
    .execute();
  return rows.map((r) => r.id);
}
