import { judgeBoots } from "../domain/judge-boots.ts";
import { combineStatus, type Status } from "../domain/status.ts";
import type { TypedStageResult } from "../domain/stage-result-schema.ts";

/** A row of the series page's version table: a status and its line. */
export interface StageCell {
  status: Status;
  summary: string;
}

/**
 * Pure: the build stage's new warnings and its boots as rows of their own, so versions can be
 * compared on each (the build row says whether the kernels built). Null: no build data.
 */
export function buildRowsOf(results: readonly TypedStageResult[]): { warnings: StageCell | null; boot: StageCell | null } {
  const build = results.find((r) => r.stage === "build");
  const d = build?.stage === "build" ? build.data : null;
  if (!d) return { warnings: null, boot: null };
  const w = d.newWarnings;
  const warnings: StageCell | null =
    d.candidate === null
      ? null
      : w.length === 0
        ? { status: "pass", summary: "no new warnings" }
        : { status: "warn", summary: `${w.length} new warning(s): ${w.slice(0, 3).map((x) => `${x.file}:${x.line}`).join(", ")}${w.length > 3 ? ", …" : ""}` };
  if (d.boots.length === 0) return { warnings, boot: null };
  // The build stage's own judgement, so the row never disagrees with the stage it sums up.
  const statuses = judgeBoots(d.boots);
  const lines = d.boots.map((b) => {
    const passed = b.probes.filter((p) => p.status === "pass").length;
    return `${b.kernel} on ${b.target}: ${b.outcome}${b.outcome === "ok" ? ` (${passed}/${b.probes.length} probes)` : b.reason ? ` (${b.reason})` : ""}`;
  });
  return { warnings, boot: { status: combineStatus(statuses), summary: lines.join("; ") } };
}
