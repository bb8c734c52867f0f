import type { Db } from "../store/open-store.ts";
import { listStageResults } from "../store/result-repository.ts";
import { flowsOnHead } from "./flows-on-head.ts";

/**
 * An earlier flow of the same series (for a pull request: on the same head) whose apply failed:
 * a `/bench` would only fail the same way, so it is answered at once with that failure and no
 * runner time is spent. `flows` oldest first; the newest failure wins; null when none failed
 * (or none ran apply yet).
 */
export async function knownApplyFailure(db: Db, flows: readonly string[], headSha: string | null = null): Promise<{ flowId: string; summary: string } | null> {
  for (const flowId of (await flowsOnHead(db, flows, headSha)).reverse()) {
    const apply = (await listStageResults(db, flowId)).results.find((r) => r.stage === "apply");
    if (apply?.status === "fail") return { flowId, summary: apply.summary };
  }
  return null;
}
