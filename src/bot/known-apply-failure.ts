import { getTarget } from "../deliver/github/github-target.ts";
import type { Db } from "../store/open-store.ts";
import { listRuns } from "../store/result-repository.ts";

/**
 * A flow of this pull request on the same head whose apply failed: a `/bench` on it would only
 * fail the same way, so it is answered at once with that failure and no runner time is spent.
 * Newest flow first; null when none failed (or none ran apply yet).
 */
export async function knownApplyFailure(db: Db, flows: readonly string[], headSha: string): Promise<{ flowId: string; summary: string } | null> {
  for (const flowId of [...flows].reverse()) {
    const target = await getTarget(db, flowId);
    if (target?.headSha !== headSha) continue;
    const apply = (await listRuns(db, flowId)).find((r) => r.stage === "apply");
    if (apply?.status === "fail") return { flowId, summary: apply.summary };
  }
  return null;
}
