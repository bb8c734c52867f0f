import type { Stage } from "../../domain/results.ts";
import { combineStatus, type Status } from "../../domain/status.ts";
import { formatChange } from "../../report/format-number.ts";
import type { Report, ReportCell } from "../../report/report.ts";
import { cellLabel } from "../../report/render-markdown.ts";

/** Patchwork's four check states (API 1.3 `Check.state`). */
export type PatchworkState = "pending" | "success" | "warning" | "fail";

export interface PlannedCheck {
  patchId: number;
  context: string;
  state: PatchworkState;
  description: string;
  targetUrl: string | null;
  /** Post only over a `pending` of this context (a stage that started, then was skipped): nothing else would end it. */
  onlyOverPending?: boolean;
}

/**
 * Patchwork's `context` is a slug (`^[-a-zA-Z0-9_]+$` in the API 1.3
 * description; a SlugField in patchwork/models.py), so "patchbench/apply"
 * would be refused with 400: the stage is joined with "-".
 */
export function contextOf(prefix: string, stage: Stage): string {
  return `${prefix}-${stage}`;
}

/**
 * Patchwork stores any length of description (a TextField), but shows it in
 * one cell of the patch page's checks table and git-pw prints it in one
 * column: one line, cut at a cell boundary, the rest behind target_url.
 */
export const DESCRIPTION_LIMIT = 200;

/** `target_url` is a Django URLField (max_length 200; the description says maxLength: 200). */
export const TARGET_URL_LIMIT = 200;

/**
 * patchbench status → patchwork state, in one place. `error`
 * (infrastructure) is a warning, never `fail`: the author did nothing wrong.
 * `skip` posts nothing (except over a `pending`, see PlannedCheck).
 */
export function patchworkStateOf(s: Status): PatchworkState | null {
  switch (s) {
    case "pass":
      return "success";
    case "fail":
      return "fail";
    case "pending":
      return "pending";
    case "skip":
      return null;
    default:
      return "warning";
  }
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}

/** "TCP_RR container 1 KB -3.1% [-4.0%, -2.2%] (n=10): regression" — the report's own verdict and interval. */
export function cellPhrase(c: ReportCell): string {
  const a = c.analysis;
  const ci = a.ci95 ? ` [${formatChange(a.ci95[0])}, ${formatChange(a.ci95[1])}]` : "";
  const n = a.pairs > 0 ? a.pairs : Math.min(a.nA, a.nB);
  return `${cellLabel(c)} ${formatChange(a.ratio)}${ci} (n=${n}): ${a.verdict}`;
}

/**
 * Join phrases into at most `limit` characters; what does not fit is said
 * as "+N more" (the link has them all).
 */
export function fitPhrases(head: string, phrases: readonly string[], limit = DESCRIPTION_LIMIT): string {
  const sep = "; ";
  let out = head;
  for (const [i, p] of phrases.entries()) {
    const rest = phrases.length - i - 1;
    const more = rest > 0 ? `${sep}+${rest} more` : "";
    const next = `${out}${out ? sep : ""}${p}`;
    if (next.length + more.length <= limit) {
      out = next;
      continue;
    }
    const tail = `${out ? sep : ""}+${phrases.length - i} more`;
    return (out + tail).length <= limit ? out + tail : `${out.slice(0, limit - tail.length - 1)}…${tail}`;
  }
  return out.length <= limit ? out : `${out.slice(0, limit - 1)}…`;
}

const VERDICT_ORDER = ["regression", "improvement", "noisy", "inconclusive", "no change"];

/** One stage of the report as (status, description); null when the report has nothing for it. */
export function stageCheck(r: Report, stage: Stage): { status: Status; description: string } | null {
  const error = r.errors.find((e) => e.stage === stage);
  if (error) return { status: "error", description: fitPhrases("", [oneLine(`could not run (infrastructure, not the series): ${error.reason}`)]) };
  if (stage === "bench") {
    if (!r.bench) return null;
    const cells = [...r.bench.cells].sort((a, b) => VERDICT_ORDER.indexOf(a.analysis.verdict) - VERDICT_ORDER.indexOf(b.analysis.verdict));
    const phrases = cells.map(cellPhrase);
    // The report's own rule (build-report.ts): a regression verdict makes the bench a warning.
    const regressed = r.bench.cells.some((c) => c.analysis.verdict === "regression");
    return { status: combineStatus([r.bench.stage.status, regressed ? "warn" : "pass"]), description: phrases.length ? fitPhrases("", phrases) : fitPhrases("", [oneLine(r.bench.stage.summary)]) };
  }
  const result = r[stage];
  if (!result) return null;
  return { status: result.status, description: fitPhrases("", [oneLine(result.summary)]) };
}

export interface PatchTarget {
  index: number;
  patchId: number;
}

/**
 * A finished report as patchwork checks (pure): one per patch per stage
 * the report has, the same state on every patch of the series (the stages
 * run on the whole series, as NIPA and BPF CI post theirs). A stage the
 * report has nothing for (skipped after apply failed, a series over a cap)
 * may still have gone pending when a runner took its job: it is ended as
 * "not run", only where it is pending.
 */
export function planPatchworkChecks(r: Report, patches: readonly PatchTarget[], opts: { prefix: string; targetUrl: string | null }): PlannedCheck[] {
  const targetUrl = opts.targetUrl && opts.targetUrl.length <= TARGET_URL_LIMIT ? opts.targetUrl : null;
  const out: PlannedCheck[] = [];
  for (const stage of ["apply", "build", "selftests", "bench"] as const) {
    const c = stageCheck(r, stage) ?? { status: "skip" as const, description: r.notRun ?? `${stage} did not run for this series` };
    const state = patchworkStateOf(c.status);
    for (const p of patches) {
      const context = contextOf(opts.prefix, stage);
      if (state) out.push({ patchId: p.patchId, context, state, description: c.description, targetUrl });
      else out.push({ patchId: p.patchId, context, state: "success", description: fitPhrases("", [`not run: ${c.description}`]), targetUrl, onlyOverPending: true });
    }
  }
  return out;
}

/** `pending` for stages a runner has started; the report ends them. */
export function planPendingChecks(stages: readonly Stage[], patches: readonly PatchTarget[], opts: { prefix: string; targetUrl: string | null }): PlannedCheck[] {
  const targetUrl = opts.targetUrl && opts.targetUrl.length <= TARGET_URL_LIMIT ? opts.targetUrl : null;
  return stages.flatMap((stage) =>
    patches.map((p) => ({ patchId: p.patchId, context: contextOf(opts.prefix, stage), state: "pending" as const, description: `${stage}: running`, targetUrl })),
  );
}

/**
 * A flow withdrawn before its report (a newer version, patchwork's state,
 * X-Patchwork-Hint): every stage that went pending is ended as `success`
 * "not run: withdrawn …", only where it is pending. Not `warning`: that
 * would raise the patch's combined check in patchwork's list to a problem
 * the patch does not have (an accepted patch flagged because we stopped);
 * and not left pending, which scripts that wait for every check to end
 * would wait on for good. The same rule as a stage not run for a cap.
 */
export function planWithdrawnChecks(why: string, patches: readonly PatchTarget[], opts: { prefix: string; targetUrl: string | null }): PlannedCheck[] {
  const targetUrl = opts.targetUrl && opts.targetUrl.length <= TARGET_URL_LIMIT ? opts.targetUrl : null;
  const description = fitPhrases("", [oneLine(`not run: withdrawn (${why})`)]);
  return (["apply", "build", "selftests", "bench"] as const).flatMap((stage) =>
    patches.map((p) => ({ patchId: p.patchId, context: contextOf(opts.prefix, stage), state: "success" as const, description, targetUrl, onlyOverPending: true })),
  );
}
