import type { Series } from "../domain/series.ts";
import type { Db } from "./open-store.ts";

/** A chain of versions is never followed further than this (a loop in stored data ends here too). */
const MAX_VERSIONS = 20;

/**
 * Every stored version of the series `id` belongs to, oldest first: back through
 * `previousVersion`, forward through the series that name it as theirs.
 */
export async function listSeriesVersions(db: Db, id: string): Promise<Series[]> {
  const load = async (sid: string) => {
    const row = await db.selectFrom("series").select("data").where("id", "=", sid).executeTakeFirst();
    return row ? (JSON.parse(row.data) as Series) : undefined;
  };
  const start = await load(id);
  if (!start) return [];
  const chain: Series[] = [start];
  const seen = new Set([start.id]);
  for (let s = start; s.previousVersion && chain.length < MAX_VERSIONS && !seen.has(s.previousVersion); ) {
    const prev = await load(s.previousVersion);
    if (!prev) break;
    seen.add(prev.id);
    chain.unshift(prev);
    s = prev;
  }
  for (let s = start; chain.length < MAX_VERSIONS; ) {
    const rows = await db.selectFrom("series").select("data").where("previous_version", "=", s.id).orderBy("created_at").limit(5).execute();
    const next = rows.map((r) => JSON.parse(r.data) as Series).find((x) => x.previousVersion === s.id && !seen.has(x.id));
    if (!next) break;
    seen.add(next.id);
    chain.push(next);
    s = next;
  }
  return chain;
}
