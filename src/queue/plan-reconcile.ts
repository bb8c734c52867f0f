import type { FlowJob } from "bullmq";
import { z } from "zod";

/** A flow the store holds as unfinished (queued or running). */
export interface StoredFlow {
  id: string;
  status: string;
  /** The FlowJob it was enqueued with, as JSON (null: stored before jobs were recorded). */
  job: string | null;
}

export type ReconcileAction =
  | { kind: "enqueue"; flowId: string; job: FlowJob; why: string }
  | { kind: "unrecoverable"; flowId: string; why: string };

/** What a stored job must look like to be given to BullMQ again (the rest is BullMQ's own shape). */
const storedJobSchema = z
  .object({
    name: z.string(),
    queueName: z.string(),
    opts: z.object({ jobId: z.string() }).passthrough(),
  })
  .passthrough();

/**
 * Pure: the store's unfinished flows + the state Redis gives for each
 * flow's report job ("unknown" when Redis has no such job) → what to do.
 * A flow Redis no longer knows (restart without persistence, FLUSHALL, a
 * lost replica) is enqueued again with its stored job, so with the same
 * deterministic job ids: nothing runs twice if it is still there after all.
 */
export function planReconcile(flows: readonly StoredFlow[], reportJobStates: ReadonlyMap<string, string>): ReconcileAction[] {
  const actions: ReconcileAction[] = [];
  for (const f of flows) {
    const state = reportJobStates.get(f.id) ?? "unknown";
    if (state !== "unknown") continue;
    const why = `the store holds the flow as ${f.status} but Redis has no report job for it (Redis lost its data)`;
    if (f.job === null) {
      actions.push({ kind: "unrecoverable", flowId: f.id, why: `${why}; it was stored before flows kept their jobs: ingest the series again` });
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(f.job);
    } catch {
      parsed = null;
    }
    const ok = storedJobSchema.safeParse(parsed);
    if (!ok.success) {
      actions.push({ kind: "unrecoverable", flowId: f.id, why: `${why}; its stored job is not a flow job: ${ok.error.issues[0]?.message ?? "unreadable"}` });
      continue;
    }
    actions.push({ kind: "enqueue", flowId: f.id, job: parsed as FlowJob, why });
  }
  return actions;
}
