import type { Db } from "./open-store.ts";

/** A tree tip's flow as the history reads it. */
export interface TipFlowRow {
  id: string;
  status: string;
  createdAt: string;
  finishedAt: string | null;
  /** The flow's plan (JSON): its `tip` holds the base and head commits. */
  plan: string;
}

/** A tree's tip flows, oldest first (the order the chain of ratios was measured in). */
export async function listTipFlows(db: Db, tree: string): Promise<TipFlowRow[]> {
  const rows = await db
    .selectFrom("flows")
    .innerJoin("series", "series.id", "flows.series_id")
    .select(["flows.id as id", "flows.status as status", "flows.created_at as created_at", "flows.finished_at as finished_at", "flows.plan as plan"])
    .where("series.source", "=", "tree")
    .where("flows.tree", "=", tree)
    .orderBy("flows.created_at")
    .orderBy("flows.id")
    .execute();
  return rows.map((r) => ({ id: r.id, status: r.status, createdAt: r.created_at, finishedAt: r.finished_at, plan: r.plan }));
}
