import { type BenchSample, cellKey } from "../domain/bench.ts";
import type { PastBuild } from "../domain/flow-estimate.ts";
import type { BuildData, StageResult } from "../domain/results.ts";
import type { Db } from "./open-store.ts";

/**
 * Store every stage result, raw sample and verdict of a flow in one
 * transaction. Re-running replaces the flow's rows, so a retried report job
 * never duplicates them. A run's `data` column is the whole stage result;
 * the bench's samples go to their own table.
 */
export async function saveFlowResults(
  db: Db,
  flowId: string,
  input: { results: StageResult[]; samples: BenchSample[]; verdicts: { cell: string; verdict: string; data: unknown }[] },
): Promise<void> {
  const now = new Date().toISOString();
  await db.transaction().execute(async (tx) => {
    await tx.deleteFrom("runs").where("flow_id", "=", flowId).execute();
    await tx.deleteFrom("samples").where("flow_id", "=", flowId).execute();
    await tx.deleteFrom("verdicts").where("flow_id", "=", flowId).execute();
    for (const r of input.results) {
      await tx
        .insertInto("runs")
        .values({
          id: `${flowId}-${r.stage}`,
          flow_id: flowId,
          stage: r.stage,
          status: r.status,
          summary: r.summary,
          data: JSON.stringify(r.stage === "bench" && r.data ? { ...r, data: { ...(r.data as object), samples: undefined } } : r),
          created_at: now,
        })
        .execute();
    }
    for (const s of input.samples) {
      await tx
        .insertInto("samples")
        .values({
          flow_id: flowId,
          cell: cellKey(s.cell),
          variant: s.variant,
          round: s.round,
          run: s.run,
          slot: s.slot,
          throughput: Number.isFinite(s.throughput) ? s.throughput : null,
          ok: s.ok ? 1 : 0,
          problem: s.problem ?? null,
          started_at: s.startedAt,
          ended_at: s.endedAt,
          values_json: JSON.stringify(s.values),
          superseded: s.superseded ?? null,
        })
        .execute();
    }
    for (const v of input.verdicts) {
      await tx
        .insertInto("verdicts")
        .values({ flow_id: flowId, cell: v.cell, verdict: v.verdict, data: JSON.stringify(v.data) })
        .execute();
    }
  });
}

export async function listSamples(db: Db, flowId: string) {
  return db.selectFrom("samples").selectAll().where("flow_id", "=", flowId).orderBy("id").execute();
}

export async function listRuns(db: Db, flowId: string) {
  return db.selectFrom("runs").selectAll().where("flow_id", "=", flowId).execute();
}

export async function listVerdicts(db: Db, flowId: string) {
  return db.selectFrom("verdicts").selectAll().where("flow_id", "=", flowId).execute();
}

/**
 * The build stages of a tree's latest flows that built something (newest first), with the base
 * commit each flow was built on: what the `/bench` estimate goes by.
 */
export async function listRecentBuilds(db: Db, tree: string, limit = 5): Promise<PastBuild[]> {
  const rows = await db
    .selectFrom("runs")
    .innerJoin("flows", "flows.id", "runs.flow_id")
    .select(["flows.base as base", "runs.data as data"])
    .where("flows.tree", "=", tree)
    .where("runs.stage", "=", "build")
    .where("runs.status", "in", ["pass", "warn", "fail"])
    .orderBy("runs.created_at", "desc")
    .limit(limit)
    .execute();
  // Rows of another shape (a build stage that stopped before building) are left out, not guessed at.
  return rows.flatMap((r) => {
    const data = (JSON.parse(r.data) as Partial<StageResult<Partial<BuildData>>> | null)?.data;
    return data && Array.isArray(data.boots) && "candidate" in data ? [{ base: r.base, data: data as BuildData }] : [];
  });
}

/**
 * The newest of `flows` (oldest first) whose build stage left both a base and a candidate kernel
 * image: the kernels a runner keeps and boots again for the same series. Null when none did.
 */
export async function newestFlowWithKernels(db: Db, flows: readonly string[]): Promise<string | null> {
  for (const flowId of [...flows].reverse()) {
    const row = await db.selectFrom("runs").select("data").where("flow_id", "=", flowId).where("stage", "=", "build").executeTakeFirst();
    const data = row ? (JSON.parse(row.data) as Partial<StageResult<Partial<BuildData>>> | null)?.data : null;
    if (data?.base?.ok && data.base.image && data.candidate?.ok && data.candidate.image) return flowId;
  }
  return null;
}
