import { sql } from "kysely";
import type { Db } from "./open-store.ts";

/** One patchwork instance and project: ids are only meaningful inside it. */
export interface PatchworkScope {
  /** Root URL, no trailing slash. */
  instance: string;
  project: string;
}

/** What patchwork said about one mail; a field left out is kept as it was. */
export interface PatchworkMailFacts {
  messageId: string;
  patchId?: number;
  seriesId?: number;
  state?: string;
}

export interface PatchworkPatchRow {
  messageId: string;
  patchId: number | null;
  seriesId: number | null;
  state: string | null;
}

function scopeOf(s: PatchworkScope): PatchworkScope {
  return { instance: s.instance.replace(/\/+$/, ""), project: s.project };
}

/** Record patchwork's ids and state of mails (upsert; facts arrive from different events at different times). */
export async function rememberPatchworkMails(db: Db, scope: PatchworkScope, facts: readonly PatchworkMailFacts[]): Promise<void> {
  const { instance, project } = scopeOf(scope);
  const now = new Date().toISOString();
  for (const f of facts) {
    await db
      .insertInto("patchwork_patches")
      .values({ instance, project, message_id: f.messageId, patch_id: f.patchId ?? null, series_id: f.seriesId ?? null, state: f.state ?? null, updated_at: now })
      .onConflict((oc) =>
        oc.columns(["instance", "project", "message_id"]).doUpdateSet({
          patch_id: sql`coalesce(excluded.patch_id, patchwork_patches.patch_id)`,
          series_id: sql`coalesce(excluded.series_id, patchwork_patches.series_id)`,
          state: sql`coalesce(excluded.state, patchwork_patches.state)`,
          updated_at: now,
        }),
      )
      .execute();
  }
}

/** The stored patchwork rows of these Message-IDs in one instance and project. */
export async function listPatchworkMails(db: Db, scope: PatchworkScope, messageIds: readonly string[]): Promise<PatchworkPatchRow[]> {
  if (messageIds.length === 0) return [];
  const { instance, project } = scopeOf(scope);
  const rows = await db
    .selectFrom("patchwork_patches")
    .select(["message_id", "patch_id", "series_id", "state"])
    .where("instance", "=", instance)
    .where("project", "=", project)
    .where("message_id", "in", [...messageIds])
    .execute();
  return rows.map((r) => ({ messageId: r.message_id, patchId: r.patch_id, seriesId: r.series_id, state: r.state }));
}

/** The states that close a series in one patchwork instance and project (its source's closingStates). */
export interface PatchworkClosing extends PatchworkScope {
  states: readonly string[];
}

/** The first of these Message-IDs a patchwork reports in one of the states that close a series there, with that state. */
export async function findPatchworkState(db: Db, messageIds: readonly string[], closing: readonly PatchworkClosing[]): Promise<{ messageId: string; state: string } | null> {
  const scopes = closing.filter((c) => c.states.length > 0).map((c) => ({ ...scopeOf(c), states: c.states }));
  if (messageIds.length === 0 || scopes.length === 0) return null;
  const r = await db
    .selectFrom("patchwork_patches")
    .select(["message_id", "state"])
    .where("message_id", "in", [...messageIds])
    .where((eb) => eb.or(scopes.map((c) => eb.and([eb("instance", "=", c.instance), eb("project", "=", c.project), eb("state", "in", [...c.states])]))))
    .orderBy("updated_at")
    .executeTakeFirst();
  return r?.state ? { messageId: r.message_id, state: r.state } : null;
}

/** Which of these Message-IDs the store already holds the mail of. */
export async function listKnownMailIds(db: Db, messageIds: readonly string[]): Promise<Set<string>> {
  if (messageIds.length === 0) return new Set();
  const rows = await db.selectFrom("raw_mails").select("message_id").where("message_id", "in", [...messageIds]).execute();
  return new Set(rows.map((r) => r.message_id));
}

/**
 * Saved series that mailed this Message-ID themselves, as their cover or one of their patches
 * (a partial re-roll that carries it from an earlier version, or a later version that names it
 * as its previous one, does not count): an index look-up in series_mails, which saveSeries keeps.
 */
export async function listSeriesWithMail(db: Db, messageId: string): Promise<string[]> {
  const rows = await db.selectFrom("series_mails").select("series_id").where("message_id", "=", messageId).orderBy("series_id").execute();
  return rows.map((r) => r.series_id);
}
