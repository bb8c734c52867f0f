import type { Db } from "./open-store.ts";

export interface FlowRow {
  id: string;
  seriesId: string;
  tree: string;
  base: string | null;
  plan: string;
  status: string;
  createdAt: string;
  finishedAt: string | null;
}

/**
 * Record a flow unless one with this id exists. Returns true when this call
 * created it: the caller enqueues only then, so one series version gets one flow.
 */
export async function createFlowIfAbsent(
  db: Db,
  flow: { id: string; seriesId: string; tree: string; base: string | null; plan: string; job?: string | null },
): Promise<boolean> {
  const r = await db
    .insertInto("flows")
    .values({
      id: flow.id,
      series_id: flow.seriesId,
      tree: flow.tree,
      base: flow.base,
      plan: flow.plan,
      status: "queued",
      created_at: new Date().toISOString(),
      finished_at: null,
      job: flow.job ?? null,
    })
    .onConflict((oc) => oc.column("id").doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function setFlowStatus(db: Db, id: string, status: string, finished = false): Promise<void> {
  await db
    .updateTable("flows")
    .set({ status, ...(finished ? { finished_at: new Date().toISOString() } : {}) })
    .where("id", "=", id)
    .execute();
}

export async function getFlow(db: Db, id: string): Promise<FlowRow | undefined> {
  const r = await db.selectFrom("flows").selectAll().where("id", "=", id).executeTakeFirst();
  return r
    ? {
        id: r.id,
        seriesId: r.series_id,
        tree: r.tree,
        base: r.base,
        plan: r.plan,
        status: r.status,
        createdAt: r.created_at,
        finishedAt: r.finished_at,
      }
    : undefined;
}

export async function countFlowsForSeries(db: Db, seriesId: string): Promise<number> {
  const r = await db
    .selectFrom("flows")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("series_id", "=", seriesId)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/** A flow not finished yet (queued or running) with the BullMQ flow it was enqueued with. */
export interface UnfinishedFlow {
  id: string;
  status: string;
  createdAt: string;
  /** The FlowJob as JSON; null for flows stored before jobs were recorded. */
  job: string | null;
}

export async function listUnfinishedFlows(db: Db): Promise<UnfinishedFlow[]> {
  const rows = await db
    .selectFrom("flows")
    .select(["id", "status", "created_at", "job"])
    .where("finished_at", "is", null)
    .orderBy("created_at")
    .execute();
  return rows.map((r) => ({ id: r.id, status: r.status, createdAt: r.created_at, job: r.job }));
}

/** The oldest unfinished flows, at most `limit`, with their tree and plan but not their jobs (a page of the queue). */
export async function listUnfinishedFlowHeads(db: Db, limit: number): Promise<(Omit<UnfinishedFlow, "job"> & { tree: string; plan: string })[]> {
  const rows = await db
    .selectFrom("flows")
    .select(["id", "status", "created_at", "tree", "plan"])
    .where("finished_at", "is", null)
    .orderBy("created_at")
    .limit(limit)
    .execute();
  return rows.map((r) => ({ id: r.id, status: r.status, createdAt: r.created_at, tree: r.tree, plan: r.plan }));
}

/**
 * The flows that ended in `error` lately, newest first, at most `limit`, each with the summaries
 * of its stages that said `error` (empty when a stage job failed outright: the queue keeps why).
 */
export async function listRecentErrorFlows(db: Db, limit: number): Promise<{ id: string; finishedAt: string; reasons: { stage: string; summary: string }[] }[]> {
  const flows = await db
    .selectFrom("flows")
    .select(["id", "finished_at"])
    .where("status", "=", "error")
    .where("finished_at", "is not", null)
    .orderBy("finished_at", "desc")
    .limit(limit)
    .execute();
  if (flows.length === 0) return [];
  const runs = await db
    .selectFrom("runs")
    .select(["flow_id", "stage", "summary"])
    .where("flow_id", "in", flows.map((f) => f.id))
    .where("status", "=", "error")
    .execute();
  return flows.map((f) => ({
    id: f.id,
    finishedAt: f.finished_at!,
    reasons: runs.filter((r) => r.flow_id === f.id).map((r) => ({ stage: r.stage, summary: r.summary })),
  }));
}

/** Every flow of a series, oldest first. */
export async function listFlowsOfSeries(db: Db, seriesId: string): Promise<string[]> {
  const rows = await db.selectFrom("flows").select("id").where("series_id", "=", seriesId).orderBy("created_at").execute();
  return rows.map((r) => r.id);
}

/** Queued flows (not yet reported) of a series. */
export async function listQueuedFlowsOfSeries(db: Db, seriesId: string): Promise<string[]> {
  const rows = await db.selectFrom("flows").select("id").where("series_id", "=", seriesId).where("status", "=", "queued").execute();
  return rows.map((r) => r.id);
}

/** The series' most recently finished flow (null when none finished). */
export async function latestFinishedFlow(db: Db, seriesId: string): Promise<string | null> {
  const r = await db
    .selectFrom("flows")
    .select("id")
    .where("series_id", "=", seriesId)
    .where("finished_at", "is not", null)
    .orderBy("finished_at", "desc")
    .executeTakeFirst();
  return r?.id ?? null;
}
