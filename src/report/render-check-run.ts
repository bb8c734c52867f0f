import type { Status } from "../domain/status.ts";
import { formatChange, formatRatio } from "./format-number.ts";
import type { Report } from "./report.ts";
import {
  armTables,
  cellLabel,
  cellTable,
  claimLines,
  detailsLines,
  escapeMarkdown,
  fitText,
  headlineLine,
  methodLines,
  ratioChart,
  sinceLines,
  stageLines,
} from "./render-markdown.ts";

/**
 * A Report as a GitHub check run's output (pure). Limits from
 * https://docs.github.com/en/rest/checks/runs#update-a-check-run :
 * output.summary and output.text hold at most 65,535 characters each, and a
 * request carries at most 50 annotations (more are sent by further
 * updates, which GitHub appends).
 */
export const CHECK_TEXT_LIMIT = 65_535;
export const ANNOTATIONS_PER_REQUEST = 50;
const TITLE_LIMIT = 255;

export type CheckConclusion = "success" | "failure" | "neutral" | "cancelled" | "skipped" | "timed_out" | "action_required";

/**
 * The one mapping from patchbench's status to GitHub's conclusion. `error`
 * (infrastructure) is neutral — never shown as the author's failure; `warn`
 * (e.g. a measured regression) is neutral with the verdict in the title.
 */
export function conclusionOf(status: Status): CheckConclusion {
  switch (status) {
    case "pass":
      return "success";
    case "fail":
      return "failure";
    case "skip":
      return "skipped";
    default:
      return "neutral";
  }
}

export interface CheckAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: "notice" | "warning" | "failure";
  title: string;
  message: string;
}

export interface CheckRunOutput {
  conclusion: CheckConclusion;
  title: string;
  summary: string;
  text: string;
  annotations: CheckAnnotation[];
}

export interface CheckRunOptions {
  /** Files the series changes (annotations need a path; findings without one go on the first). */
  changedFiles?: readonly string[];
  detailsUrl?: string | null;
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/** Findings as annotations: apply failures on the files git named, measured regressions and failed tests on the series' first file. */
export function checkAnnotations(r: Report, changedFiles: readonly string[] = []): CheckAnnotation[] {
  const out: CheckAnnotation[] = [];
  const anchor = changedFiles[0];
  const d = r.apply?.data;
  if (r.apply?.status === "fail" && d?.failure) {
    const files = d.failure.files.length ? d.failure.files : anchor ? [anchor] : [];
    for (const path of files) {
      out.push({
        path,
        start_line: 1,
        end_line: 1,
        annotation_level: "failure",
        title: clip(`patch ${d.failure.patch} does not apply`, TITLE_LIMIT),
        message: clip(`${d.failure.subject}\n\ngit said:\n${d.failure.gitMessage}`, 60_000),
      });
    }
  }
  if (!anchor) return out;
  for (const t of r.selftests?.data.tests ?? []) {
    if (t.status !== "fail") continue;
    out.push({
      path: anchor,
      start_line: 1,
      end_line: 1,
      annotation_level: "failure",
      title: clip(`selftest ${t.suite}/${t.name} failed`, TITLE_LIMIT),
      message: clip(t.detail || "failed", 60_000),
    });
  }
  for (const c of r.bench?.cells ?? []) {
    const a = c.analysis;
    if (a.verdict !== "regression" && a.verdict !== "improvement") continue;
    const ci = a.ci95 ? ` (95% CI ${formatRatio(a.ci95[0])} to ${formatRatio(a.ci95[1])})` : "";
    out.push({
      path: anchor,
      start_line: 1,
      end_line: 1,
      annotation_level: a.verdict === "regression" ? "warning" : "notice",
      title: clip(`${a.verdict}: ${cellLabel(c)} ${formatChange(a.ratio)}`, TITLE_LIMIT),
      message: clip(`B/A ${formatRatio(a.ratio)}${ci}, q=${a.q.toPrecision(2)}: ${a.reason}`, 60_000),
    });
  }
  return out;
}

/** Split annotations into requests of at most 50 (GitHub's per-request cap). */
export function batchAnnotations<T>(all: readonly T[], size = ANNOTATIONS_PER_REQUEST): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < all.length; i += size) out.push(all.slice(i, i + size));
  return out;
}

export function renderCheckRun(r: Report, options: CheckRunOptions = {}): CheckRunOutput {
  const url = options.detailsUrl ?? null;
  const note = (n: number) => `_… ${n} characters cut to fit GitHub's 65,535-character limit${url ? `; see the [full report](${url})` : ""}._`;
  // The summary keeps the table short enough to stay whole; the text has everything.
  const rows = (r.bench?.cells.length ?? 0) > 200 ? 200 : Number.POSITIVE_INFINITY;
  const summary = [headlineLine(r), "", ...stageLines(r), "", ...sinceLines(r), ...cellTable(r, rows), "", ...armTables(r), ...claimLines(r), ...ratioChart(r), ""].join("\n");
  const text = [...methodLines(r), "", ...detailsLines(r), "", `${escapeMarkdown(r.tool.name)} ${escapeMarkdown(r.tool.version)}, report \`${r.id}\`, ${r.generatedAt}`, ""].join("\n");
  return {
    conclusion: conclusionOf(r.status),
    title: clip(r.headline, TITLE_LIMIT),
    summary: fitText(summary, CHECK_TEXT_LIMIT, note),
    text: fitText(text, CHECK_TEXT_LIMIT, note),
    annotations: checkAnnotations(r, options.changedFiles),
  };
}
