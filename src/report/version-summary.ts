import type { ApplyData, StageResult } from "../domain/results.ts";
import { combineStatus, type Status } from "../domain/status.ts";

/** A stage of one version: its status and its one line. */
export interface StageSummary {
  status: Status;
  summary: string;
}

/** A bench cell of one version: its key (test/topology/size), verdict and B/A (null when not estimated). */
export interface CellSummary {
  key: string;
  verdict: string;
  ratio: number | null;
}

/**
 * One version of a series as versions are compared: what the dashboard's series page shows per
 * version and what the report's "Since vN" section is computed from. Checks are folded into one.
 */
export interface VersionSummary {
  version: number;
  apply: StageSummary | null;
  checks: StageSummary | null;
  build: StageSummary | null;
  selftests: StageSummary | null;
  bench: StageSummary | null;
  cells: readonly CellSummary[];
}

export type StageSummaries = Pick<VersionSummary, "apply" | "checks" | "build" | "selftests" | "bench">;

/** Each stage's status and line from a flow's results; the apply stage's checks folded into one. */
export function stageSummaries(results: readonly StageResult[]): StageSummaries {
  const of = (stage: StageResult["stage"]) => {
    const r = results.find((x) => x.stage === stage);
    return r ? { status: r.status, summary: r.summary } : null;
  };
  const apply = results.find((x) => x.stage === "apply");
  // Results reach here checked by their stage's schema: an apply result's data is ApplyData (null when it did not run).
  const checks = (apply?.data as ApplyData | null | undefined)?.checks ?? [];
  return {
    apply: of("apply"),
    checks: checks.length === 0 ? null : { status: combineStatus(checks.map((c) => c.status)), summary: checks.map((c) => `${c.id} ${c.status}`).join(", ") },
    build: of("build"),
    selftests: of("selftests"),
    bench: of("bench"),
  };
}

/** A version from its flow's stage results and its cells' verdicts. */
export function summarizeVersion(version: number, results: readonly StageResult[], cells: readonly CellSummary[]): VersionSummary {
  return { version, ...stageSummaries(results), cells: cells.map((c) => ({ key: c.key, verdict: c.verdict, ratio: c.ratio !== null && Number.isFinite(c.ratio) ? c.ratio : null })) };
}

/** Whether a version has anything to compare (a flow refused before any stage ran has not). */
export function hasResults(v: VersionSummary): boolean {
  return v.apply !== null || v.build !== null || v.selftests !== null || v.bench !== null || v.cells.length > 0;
}
