import type { Status } from "../domain/status.ts";
import { formatChange, formatRatio, formatSize } from "./format-number.ts";
import type { Report } from "./report.ts";

/**
 * b4's external check format (b4 review: a `review-perpatch-check-cmd` /
 * `review-series-check-cmd` reads the message on stdin and prints a JSON
 * object or list of `{tool, status, summary, url, details}`; status is
 * pass | warn | fail, anything else counts as fail; details is a string,
 * by convention a JSON list of `{status, description}` findings).
 */
export interface B4Check {
  tool: string;
  status: "pass" | "warn" | "fail";
  summary: string;
  url: string;
  details: string;
}

/**
 * patchbench status → b4 status, in one place. b4 has no "infrastructure"
 * word: `error` becomes warn (never fail: not the author's fault), pending
 * and skip too.
 */
export function b4StatusOf(s: Status): B4Check["status"] {
  if (s === "pass") return "pass";
  if (s === "fail") return "fail";
  return "warn";
}

export function renderB4Check(r: Report, options: { url?: string | null } = {}): B4Check {
  const findings: { status: B4Check["status"]; description: string }[] = [];
  if (r.apply) findings.push({ status: b4StatusOf(r.apply.status), description: `apply: ${r.apply.summary}` });
  for (const t of r.selftests?.data.tests ?? []) {
    if (t.status === "skip") continue;
    findings.push({ status: b4StatusOf(t.status), description: `selftest ${t.suite}/${t.name}: ${t.status}${t.detail ? ` (${t.detail})` : ""}` });
  }
  for (const c of r.bench?.cells ?? []) {
    const a = c.analysis;
    const ci = a.ci95 ? ` [${formatRatio(a.ci95[0])}, ${formatRatio(a.ci95[1])}]` : "";
    findings.push({
      status: a.verdict === "regression" ? "warn" : "pass",
      description: `${c.cell.test} ${c.cell.topology} ${formatSize(c.cell.size)}: ${a.verdict}, B/A ${formatRatio(a.ratio)} (${formatChange(a.ratio)})${ci}, q=${a.q.toPrecision(2)}`,
    });
  }
  for (const e of r.errors) findings.push({ status: "warn", description: `${e.stage}: could not run (infrastructure): ${e.reason}` });
  return {
    tool: r.tool.name,
    status: b4StatusOf(r.status),
    summary: r.headline,
    url: options.url ?? "",
    details: JSON.stringify(findings),
  };
}
