import type { Job } from "bullmq";
import type { Stage, StageResult } from "../domain/results.ts";
import { type StageChain, stageChainSchema } from "../queue/payloads.ts";

const STAGE_OF_KEY = /-(apply|build|selftests|bench)$/;

/**
 * The results of the stages below a job in its chain: the child's return
 * value, or — when a child died of infrastructure after its retries — an
 * `error` result carrying the reason (the report still goes out).
 */
export async function previousResults(job: Job): Promise<{ results: StageResult[]; errors: { stage: Stage; reason: string }[] }> {
  const values = await job.getChildrenValues<StageChain & { errors?: { stage: Stage; reason: string }[] }>();
  const results: StageResult[] = [];
  const errors: { stage: Stage; reason: string }[] = [];
  for (const v of Object.values(values)) {
    const parsed = stageChainSchema.safeParse(v);
    if (parsed.success) results.push(...(parsed.data.results as StageResult[]));
    for (const e of v?.errors ?? []) errors.push(e);
  }
  const failures = await job.getIgnoredChildrenFailures();
  for (const [key, reason] of Object.entries(failures)) {
    const stage = STAGE_OF_KEY.exec(key)?.[1] as Stage | undefined;
    if (stage) errors.push({ stage, reason: String(reason) });
  }
  return { results, errors };
}
