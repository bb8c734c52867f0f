import { sql } from "kysely";
import type { Series } from "../domain/series.ts";
import type { Db } from "./open-store.ts";

/** What the series list may be narrowed by; every field already checked at the web edge. */
export interface SeriesFilter {
  tree?: string;
  /** queued: a flow not finished; finished: every flow finished. */
  state?: "queued" | "finished";
  /** A flow of the series ended with this status (pass, warn, fail, error, skip). */
  verdict?: string;
  /** Matched in the subject, the author and the Message-IDs (the stored series JSON). */
  search?: string;
}

export interface SeriesListRow {
  id: string;
  /** Null when the stored JSON no longer parses: the row is still listed, not the whole page lost. */
  series: Series | null;
  createdAt: string;
  /** The series' flows, newest first. */
  flows: { id: string; status: string; createdAt: string; finishedAt: string | null }[];
}

/** LIKE pattern of a literal substring: its own % _ \ do not act as wildcards. */
function likeLiteral(s: string): string {
  return `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** One page of series versions, newest first, with the total matching `filter`. */
export async function listSeriesPage(
  db: Db,
  filter: SeriesFilter,
  page: { offset: number; limit: number },
): Promise<{ total: number; rows: SeriesListRow[] }> {
  let q = db.selectFrom("series");
  if (filter.tree !== undefined) q = q.where("series.tree", "=", filter.tree);
  if (filter.search !== undefined) {
    const pattern = likeLiteral(filter.search);
    // LOWER on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
    q = q.where((eb) =>
      eb.or([
        sql<boolean>`lower(series.title) like lower(${pattern}) escape '\\'`,
        sql<boolean>`lower(series.data) like lower(${pattern}) escape '\\'`,
      ]),
    );
  }
  if (filter.verdict !== undefined) {
    const v = filter.verdict;
    q = q.where((eb) => eb.exists(eb.selectFrom("flows").select("flows.id").whereRef("flows.series_id", "=", "series.id").where("flows.status", "=", v)));
  }
  if (filter.state === "queued") {
    q = q.where((eb) => eb.exists(eb.selectFrom("flows").select("flows.id").whereRef("flows.series_id", "=", "series.id").where("flows.finished_at", "is", null)));
  } else if (filter.state === "finished") {
    q = q.where((eb) =>
      eb.and([
        eb.exists(eb.selectFrom("flows").select("flows.id").whereRef("flows.series_id", "=", "series.id")),
        eb.not(eb.exists(eb.selectFrom("flows").select("flows.id").whereRef("flows.series_id", "=", "series.id").where("flows.finished_at", "is", null))),
      ]),
    );
  }
  const count = await q.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
  const rows = await q
    .select(["series.id", "series.data", "series.created_at"])
    .orderBy("series.created_at", "desc")
    .orderBy("series.id", "desc")
    .offset(page.offset)
    .limit(page.limit)
    .execute();
  const ids = rows.map((r) => r.id);
  const flows =
    ids.length === 0
      ? []
      : await db
          .selectFrom("flows")
          .select(["id", "series_id", "status", "created_at", "finished_at"])
          .where("series_id", "in", ids)
          .orderBy("created_at", "desc")
          .orderBy("id", "desc")
          .execute();
  return {
    total: Number(count.n),
    rows: rows.map((r) => ({
      id: r.id,
      series: parseSeries(r.data),
      createdAt: r.created_at,
      flows: flows
        .filter((f) => f.series_id === r.id)
        .map((f) => ({ id: f.id, status: f.status, createdAt: f.created_at, finishedAt: f.finished_at })),
    })),
  };
}

function parseSeries(json: string): Series | null {
  try {
    return JSON.parse(json) as Series;
  } catch {
    return null;
  }
}
