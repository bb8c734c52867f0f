import type { Job } from "bullmq";
import type { Stage } from "../domain/results.ts";
import { STAGES } from "../domain/results.ts";
import { describeSchemaError, stageResultSchema, type TypedStageResult } from "../domain/stage-result-schema.ts";

const STAGE_OF_KEY = /-(apply|build|selftests|bench)$/;

export interface ChildResults {
  results: TypedStageResult[];
  errors: { stage: Stage; reason: string }[];
}

/**
 * Pure: the results of the stages below a job in its chain, from its
 * children's return values (`{ results, errors }`) and the failures BullMQ
 * ignored. A child that died of infrastructure after its retries, or whose
 * result fails its stage's schema, becomes an `error` with the reason: the
 * report still goes out and says which stage is missing and why.
 */
export function collectChildResults(values: Record<string, unknown>, failures: Record<string, string>): ChildResults {
  const results: TypedStageResult[] = [];
  const errors: ChildResults["errors"] = [];
  for (const [key, v] of Object.entries(values)) {
    const chain = v && typeof v === "object" ? (v as { results?: unknown; errors?: unknown }) : {};
    const fromKey = STAGE_OF_KEY.exec(key)?.[1] as Stage | undefined;
    if (!Array.isArray(chain.results)) {
      errors.push({ stage: fromKey ?? "apply", reason: `the ${fromKey ?? "stage"} job returned no results (${key})` });
      continue;
    }
    for (const r of chain.results) {
      const parsed = stageResultSchema.safeParse(r);
      if (parsed.success) {
        results.push(parsed.data);
        continue;
      }
      const claimed = (r as { stage?: unknown } | null)?.stage;
      const stage = (STAGES as readonly unknown[]).includes(claimed) ? (claimed as Stage) : (fromKey ?? "apply");
      errors.push({ stage, reason: `the ${stage} result was malformed and is left out: ${describeSchemaError(parsed.error)}` });
    }
    if (Array.isArray(chain.errors)) {
      for (const e of chain.errors as unknown[]) {
        const stage = (e as { stage?: unknown } | null)?.stage;
        const reason = (e as { reason?: unknown } | null)?.reason;
        if ((STAGES as readonly unknown[]).includes(stage) && typeof reason === "string") errors.push({ stage: stage as Stage, reason });
      }
    }
  }
  for (const [key, reason] of Object.entries(failures)) {
    const stage = STAGE_OF_KEY.exec(key)?.[1] as Stage | undefined;
    if (stage) errors.push({ stage, reason: String(reason) });
  }
  return { results, errors };
}

/** The results of the stages below a job in its chain (see `collectChildResults`). */
export async function previousResults(job: Job): Promise<ChildResults> {
  return collectChildResults(await job.getChildrenValues(), await job.getIgnoredChildrenFailures());
}
