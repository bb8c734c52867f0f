import type { SelftestsData, StageResult } from "../domain/results.ts";
import { combineStatus } from "../domain/status.ts";
import type { StageJob } from "../queue/payloads.ts";
import { runHostProbes } from "./probes/run-host-probes.ts";

/** The selftests stage: each configured suite, results combined. */
export async function runSelftestsStage(
  job: StageJob,
  deps: { runner: string; signal?: AbortSignal },
): Promise<StageResult<SelftestsData>> {
  const startedAt = new Date().toISOString();
  const tests: SelftestsData["tests"] = [];
  for (const suite of job.suites) {
    if (suite === "host-probes") {
      tests.push(...(await runHostProbes(deps.signal ? { signal: deps.signal } : {})));
    } else {
      tests.push({ suite, name: suite, status: "error", detail: `unknown suite "${suite}" on this runner`, durationMs: 0 });
    }
  }
  const status = combineStatus(tests.map((t) => t.status));
  const passed = tests.filter((t) => t.status === "pass").length;
  return {
    stage: "selftests",
    status,
    summary: `${passed}/${tests.length} passed (${job.suites.join(", ")})`,
    startedAt,
    endedAt: new Date().toISOString(),
    runner: deps.runner,
    data: { tests },
  };
}
