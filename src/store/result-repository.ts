import { type BenchSample, cellKey } from "../domain/bench.ts";
import type { PastBuild } from "../domain/flow-estimate.ts";
import type { Stage } from "../domain/results.ts";
import { STAGES } from "../domain/results.ts";
import { buildDataSchema, describeSchemaError, stageResultSchema, type TypedStageResult } from "../domain/stage-result-schema.ts";
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
  input: { results: TypedStageResult[]; samples: BenchSample[]; verdicts: { cell: string; verdict: string; data: unknown }[] },
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
          data: JSON.stringify(r.stage === "bench" && r.data ? { ...r, data: { ...r.data, samples: undefined } } : r),
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

/**
 * A flow's stage results as stored, each checked by its stage's schema (the
 * bench's come without samples: they are in their own table). A row that no
 * longer parses is an `error` naming its stage, not a missing stage.
 */
export async function listStageResults(db: Db, flowId: string): Promise<{ results: TypedStageResult[]; errors: { stage: Stage; reason: string }[] }> {
  const rows = await db.selectFrom("runs").select(["stage", "data"]).where("flow_id", "=", flowId).execute();
  // In the chain's order (apply, build, selftests, bench), as the report job received them.
  rows.sort((a, b) => STAGES.indexOf(a.stage as Stage) - STAGES.indexOf(b.stage as Stage));
  const results: TypedStageResult[] = [];
  const errors: { stage: Stage; reason: string }[] = [];
  for (const row of rows) {
    const stage = (STAGES as readonly string[]).includes(row.stage) ? (row.stage as Stage) : "apply";
    let stored: unknown;
    try {
      stored = JSON.parse(row.data);
    } catch (e) {
      errors.push({ stage, reason: `the stored ${row.stage} result is not JSON: ${(e as Error).message}` });
      continue;
    }
    const withSamples = row.stage === "bench" ? withEmptySamples(stored) : stored;
    const parsed = stageResultSchema.safeParse(withSamples);
    if (parsed.success) results.push(parsed.data);
    else errors.push({ stage, reason: `the stored ${row.stage} result was malformed and is left out: ${describeSchemaError(parsed.error)}` });
  }
  return { results, errors };
}

function withEmptySamples(stored: unknown): unknown {
  const r = stored as { data?: unknown } | null;
  return r?.data && typeof r.data === "object" ? { ...r, data: { samples: [], ...(r.data as object) } } : stored;
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
    const data = storedBuildData(r.data);
    return data ? [{ base: r.base, data }] : [];
  });
}

/**
 * The newest of `flows` (oldest first) whose build stage left both a base and a candidate kernel
 * image: the kernels a runner keeps and boots again for the same series. Null when none did.
 */
export async function newestFlowWithKernels(db: Db, flows: readonly string[]): Promise<string | null> {
  for (const flowId of [...flows].reverse()) {
    const row = await db.selectFrom("runs").select("data").where("flow_id", "=", flowId).where("stage", "=", "build").executeTakeFirst();
    const data = row ? storedBuildData(row.data) : null;
    if (data?.base?.ok && data.base.image && data.candidate?.ok && data.candidate.image) return flowId;
  }
  return null;
}

/** A stored build result's data when it parses as one, else null. */
function storedBuildData(json: string) {
  try {
    const parsed = buildDataSchema.safeParse((JSON.parse(json) as { data?: unknown } | null)?.data);
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
