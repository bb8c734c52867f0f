import type { CheckResult } from "../domain/results.ts";
import type { CheckContext } from "./check.ts";
import { CHECKS } from "./registry.ts";

/**
 * Run the selected checks (all by default) that apply. A check that throws
 * is an `error` result of its own: it never hides the other checks.
 */
export async function runChecks(ctx: CheckContext, ids: readonly string[] = [...CHECKS.keys()]): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const id of ids) {
    const check = CHECKS.get(id);
    const started = Date.now();
    if (!check) {
      results.push({ id, status: "error", summary: `unknown check "${id}"`, findings: [], durationMs: 0 });
      continue;
    }
    const skip = check.skipReason(ctx);
    if (skip !== null) {
      results.push({ id, status: "skip", summary: skip, findings: [], durationMs: 0 });
      continue;
    }
    try {
      results.push({ ...(await check.run(ctx)), durationMs: Date.now() - started });
    } catch (e) {
      results.push({ id, status: "error", summary: `check crashed: ${(e as Error).message}`, findings: [], durationMs: Date.now() - started });
    }
  }
  return results;
}
