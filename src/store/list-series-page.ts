import { sql } from "kysely";
import type { Series } from "../domain/series.ts";
import type { Db } from "./open-store.ts";

/** What the series list may be narrowed by; every field already checked at the web edge. */
export interface SeriesFilter {
  tree?: string;
  /** A mailing list (List-Id, lowercased) one of its mails came through. */
  list?: string;
  /** queued: a flow not finished; finished: every flow finished. */
  state?: "queued" | "finished";
  /** A flow of the series ended with this status (pass, warn, fail, error, skip). */
  verdict?: string;
  /** Matched in the subjects, the author and the Message-IDs (nothing else the series holds). */
  search?: string;
  /** The author's address, matched whole and case-blind. */
  author?: string;
  /** true: a run of the series found a regression in some bench cell; false: none did. */
  hasRegression?: boolean;
}

export interface SeriesListRow {
  id: string;
  /** Null when the stored JSON no longer parses: the row is still listed, not the whole page lost. */
  series: Series | null;
  createdAt: string;
  /** The author's address as the author filter matches it. */
  authorEmail: string;
  /** The series' flows, newest first. */
  flows: { id: string; status: string; createdAt: string; finishedAt: string | null }[];
  /** How many bench cells of its newest flow got each verdict (empty: none measured). */
  verdicts: Record<string, number>;
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
  // A tree tip's stand-in series belongs to the tree's history, not to the list of posted series.
  let q = db.selectFrom("series").where("series.source", "!=", "tree");
  if (filter.tree !== undefined) q = q.where("series.tree", "=", filter.tree);
  if (filter.author !== undefined) q = q.where("series.author_email", "=", filter.author.toLowerCase());
  if (filter.list !== undefined) q = q.where("series.id", "in", db.selectFrom("series_lists").select("series_lists.series_id").where("series_lists.list_id", "=", filter.list.toLowerCase()));
  if (filter.search !== undefined) {
    // search_text is lowercased when stored; lowering the pattern here keeps both backends case-blind.
    const pattern = likeLiteral(filter.search.toLowerCase());
    q = q.where(sql<boolean>`series.search_text like ${pattern} escape '\\'`);
  }
  if (filter.hasRegression !== undefined) {
    // One uncorrelated set of the series that regressed somewhere (a correlated EXISTS let
    // SQLite drive it from the verdict index once per series: 60 s at 20,000 series).
    const regressed = db
      .selectFrom("flows")
      .innerJoin("verdicts", "verdicts.flow_id", "flows.id")
      .select("flows.series_id")
      .where("verdicts.verdict", "=", "regression");
    q = q.where("series.id", filter.hasRegression ? "in" : "not in", regressed);
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
    .select(["series.id", "series.data", "series.created_at", "series.author_email"])
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
  const latest = [...new Set(ids.map((id) => flows.find((f) => f.series_id === id)?.id).filter((x): x is string => x !== undefined))];
  const counts =
    latest.length === 0
      ? []
      : await db
          .selectFrom("verdicts")
          .select((eb) => ["flow_id", "verdict", eb.fn.countAll<number>().as("n")])
          .where("flow_id", "in", latest)
          .groupBy(["flow_id", "verdict"])
          .execute();
  const verdictsOf = (flowId: string | undefined) => Object.fromEntries(counts.filter((c) => c.flow_id === flowId).map((c) => [c.verdict, Number(c.n)]));
  return {
    total: Number(count.n),
    rows: rows.map((r) => ({
      id: r.id,
      series: parseSeries(r.data),
      createdAt: r.created_at,
      authorEmail: r.author_email,
      flows: flows
        .filter((f) => f.series_id === r.id)
        .map((f) => ({ id: f.id, status: f.status, createdAt: f.created_at, finishedAt: f.finished_at })),
      verdicts: verdictsOf(flows.find((f) => f.series_id === r.id)?.id),
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
