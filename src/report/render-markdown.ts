import { formatChange, formatMdeRange, formatQuantity, formatRatio, formatSize } from "./format-number.ts";
import type { Report, ReportCell, ReportComparison } from "./report.ts";
import { bootPhrase } from "./render-bench-text.ts";

/**
 * Markdown renderings of a Report for GitHub (check-run summaries and PR
 * comments). Pure. Text from outside (subjects, names, test output, git
 * messages) is escaped so it cannot close a table, inject HTML or
 * @-mention people.
 */

/** Escape untrusted text for a markdown table cell or paragraph. */
export function escapeMarkdown(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "")
    .replace(/([\\`*_[\]])/g, "\\$1")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\|/g, "\\|")
    .replace(/@/g, "&#64;")
    .replace(/\r?\n/g, " ");
}

/** Untrusted text inside a fenced block: only the fence itself must not close early. */
export function fenceSafe(s: string): string {
  return s.replace(/```/g, "`\u200b``").replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "");
}

const VERDICT_MARK: Record<string, string> = {
  improvement: "🟢 improvement",
  regression: "🔴 regression",
  "no change": "⚪ no change",
  inconclusive: "🟡 inconclusive",
  noisy: "🟠 noisy",
};

const STATUS_MARK: Record<string, string> = {
  pass: "✅ pass",
  warn: "⚠️ warn",
  fail: "❌ fail",
  pending: "⏳ pending",
  skip: "⏭️ skip",
  error: "🛠️ error (infrastructure)",
};

export function statusMark(s: string): string {
  return STATUS_MARK[s] ?? s;
}

export function cellLabel(c: ReportCell): string {
  return `${c.cell.test} ${c.cell.topology} ${formatSize(c.cell.size)}`;
}

function ci(c: ReportCell): string {
  const x = c.analysis.ci95;
  return x ? `[${formatRatio(x[0])}, ${formatRatio(x[1])}]` : "n/a";
}

function q(v: number): string {
  return v < 0.001 ? v.toExponential(1) : v.toFixed(3);
}

/** The results table: one row per cell. */
export function cellTable(r: Report, maxRows = Number.POSITIVE_INFINITY): string[] {
  return r.bench ? comparisonTable(r.bench, maxRows) : [];
}

/** Each arm of a kernel A/B: its cells against the plain candidate, then against the base. */
export function armTables(r: Report): string[] {
  const L: string[] = [];
  for (const arm of r.bench?.arms ?? []) {
    L.push(`**Arm ${escapeMarkdown(arm.name)}**: the candidate kernel with the arm's settings.`, "");
    L.push("Against the candidate (the feature's effect):", "", ...comparisonTable(arm.vsCandidate), "");
    L.push("Against the base:", "", ...comparisonTable(arm.vsBase), "");
  }
  return L;
}

function comparisonTable(b: ReportComparison, maxRows = Number.POSITIVE_INFINITY): string[] {
  const [va, vb] = b.variants;
  const L = [
    `| Cell | A: ${escapeMarkdown(va.name)} | B: ${escapeMarkdown(vb.name)} | B/A | 95% CI | q | Verdict |`,
    "|---|---:|---:|---:|---|---:|---|",
  ];
  for (const c of b.cells.slice(0, maxRows)) {
    const a = c.analysis;
    L.push(
      `| ${cellLabel(c)} | ${formatQuantity(a.meanA)} ${c.unit} ±${(c.a.cv * 100).toFixed(0)}% | ${formatQuantity(a.meanB)} ${c.unit} ±${(c.b.cv * 100).toFixed(0)}% | ${formatRatio(a.ratio)} (${formatChange(a.ratio)}) | ${ci(c)} | ${q(a.q)} | ${VERDICT_MARK[a.verdict] ?? a.verdict} |`,
    );
  }
  if (b.cells.length > maxRows) L.push(`| … ${b.cells.length - maxRows} more cells in the details | | | | | | |`);
  return L;
}

/**
 * A mermaid xychart of B/A per cell: bars are the ratios, the two lines the
 * 95% interval's ends (GitHub renders ```mermaid blocks; xychart-beta has
 * no error bars, so the interval is drawn as a band of two lines).
 */
export function ratioChart(r: Report, maxCells = 30): string[] {
  const b = r.bench;
  if (!b || b.cells.length === 0) return [];
  const cells = b.cells.slice(0, maxCells);
  const label = (c: ReportCell) => `"${`${c.cell.test} ${c.cell.topology} ${formatSize(c.cell.size)}`.replace(/"/g, "'")}"`;
  const ratio = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "1.000");
  const lo = cells.map((c) => c.analysis.ci95?.[0] ?? c.analysis.ratio);
  const hi = cells.map((c) => c.analysis.ci95?.[1] ?? c.analysis.ratio);
  const finite = [...lo, ...hi, ...cells.map((c) => c.analysis.ratio), 1].filter(Number.isFinite);
  const min = Math.max(0, Math.floor(Math.min(...finite) * 10) / 10 - 0.1);
  const max = Math.ceil(Math.max(...finite) * 10) / 10 + 0.1;
  return [
    "```mermaid",
    "xychart-beta",
    `  title "B/A per cell (bars) with 95% CI (lines); 1.0 = no change"`,
    `  x-axis [${cells.map(label).join(", ")}]`,
    `  y-axis "B/A" ${min.toFixed(1)} --> ${max.toFixed(1)}`,
    `  bar [${cells.map((c) => ratio(c.analysis.ratio)).join(", ")}]`,
    `  line [${lo.map(ratio).join(", ")}]`,
    `  line [${hi.map(ratio).join(", ")}]`,
    "```",
  ];
}

/** Apply / selftests / errors in a few lines. */
export function stageLines(r: Report): string[] {
  const L: string[] = [];
  const ap = r.apply;
  if (ap) {
    const d = ap.data;
    const short = d.baseCommit?.slice(0, 12);
    const base = short && !ap.summary.includes(short) ? ` at \`${short}\` (${escapeMarkdown(d.baseRule ?? "?")})` : "";
    L.push(`- **Apply** ${statusMark(ap.status)}: ${escapeMarkdown(ap.summary)}${base}`);
    if (d.failure) {
      L.push(`  - patch ${d.failure.patch}: ${escapeMarkdown(d.failure.subject)}${d.failure.files.length ? ` (${d.failure.files.map((f) => `\`${fenceSafe(f).replace(/`/g, "'")}\``).join(", ")})` : ""}`);
    }
    for (const rej of d.rejected) L.push(`  - patch ${rej.patch} refused: ${escapeMarkdown(rej.reason)}`);
  }
  const bu = r.build;
  if (bu) {
    L.push(`- **Build** ${statusMark(bu.status)}: ${escapeMarkdown(bu.summary.split("\n")[0] ?? "")}`);
    for (const w of bu.data.newWarnings.slice(0, 5)) L.push(`  - new warning \`${fenceSafe(`${w.file}:${w.line}`).replace(/`/g, "'")}\`: ${escapeMarkdown(w.message)}`);
  }
  const st = r.selftests;
  if (st) {
    L.push(`- **Selftests** ${statusMark(st.status)}: ${escapeMarkdown(st.summary)}`);
    for (const t of st.data.tests.filter((x) => x.status !== "pass" && x.status !== "skip")) {
      L.push(`  - ${statusMark(t.status)} ${escapeMarkdown(`${t.suite}/${t.name}`)}: ${escapeMarkdown(t.detail)}`);
    }
  }
  if (r.bench) L.push(`- **Benchmark** ${statusMark(r.bench.stage.status)}: ${escapeMarkdown(r.bench.stage.summary)}`);
  else if (ap?.status === "fail") L.push("- **Benchmark** not run: the series does not apply.");
  for (const e of r.errors) L.push(`- **${escapeMarkdown(e.stage)}** could not run (infrastructure, not the series): ${escapeMarkdown(e.reason)}`);
  return L;
}

/** What changed since the earlier version that ran, then a blank line; nothing when none ran. */
export function sinceLines(r: Report): string[] {
  const s = r.since;
  if (!s) return [];
  if (s.changes.length === 0) return [`**Since v${s.version}**: no verdict changed.`, ""];
  return [`**Since v${s.version}**:`, "", ...s.changes.map((c) => `- ${escapeMarkdown(c)}`), ""];
}

/** The series' own claims held against what was measured (consistent, not reproduced, not measured: why), then a blank line. */
export function claimLines(r: Report): string[] {
  const checks = r.claims ?? [];
  if (checks.length === 0 || !r.bench) return [];
  const n = (v: string) => checks.filter((c) => c.verdict === v).length;
  const L = [
    `**Claims in the series**: ${checks.length} (${n("consistent")} consistent, ${n("not reproduced")} not reproduced, ${n("not measured")} not measured)`,
    "",
  ];
  for (const c of checks) {
    const cl = c.claim;
    const word = c.notMeasuredBecause === "variants differ" ? "not measured (variants differ)" : c.verdict;
    const where = `${cl.test} ${cl.topology ?? "?"} ${cl.size === null ? "?" : formatSize(cl.size)}`;
    // A measured claim's detail states the claimed ratio itself.
    const claimed = c.verdict === "not measured" ? ` (claimed ${formatRatio(cl.ratio)})` : "";
    L.push(`- ${CLAIM_MARK[c.verdict] ?? ""} **${word}** ${escapeMarkdown(where)}${claimed}: ${escapeMarkdown(`${c.detail}${c.against ? ` (held against ${c.against})` : ""}`)}`);
  }
  return [...L, ""];
}

const CLAIM_MARK: Record<string, string> = { consistent: "🟢", "not reproduced": "🔴", "not measured": "⚪" };

/** How the numbers were made and how to repeat them. */
export function methodLines(r: Report): string[] {
  const b = r.bench;
  if (!b) return [];
  const d = b.stage.data;
  const [va, vb] = b.variants;
  const pin = d.pinning ? `pinned \`-T ${d.pinning.local},${d.pinning.remote}\`` : "unpinned";
  const where = d.kernels ? "netperf inside each booted kernel" : "netperf on the runner's kernel";
  const arms = b.arms?.length ? `; arms on the candidate kernel: ${b.arms.map((a) => `\`${fenceSafe(a.name)}\``).join(", ")}` : "";
  const L = [
    `${where}, A = \`${fenceSafe(va.name)}\`, B = \`${fenceSafe(vb.name)}\`${arms}; ${d.design} interleaving, ${d.rounds} rounds per variant × ${d.runsPerRound} runs × ${d.durationSec} s, ${pin}.`,
  ];
  const sides = d.kernels?.sides ?? [];
  // A list needs blank lines around it, or the next line joins its last item.
  if (sides.length) L.push("", ...sides.map((x) => `- ${escapeMarkdown(x.name)}: ${escapeMarkdown(x.describe)}; ${bootPhrase(x)}`), "");
  const mde = formatMdeRange(b.cells.map((c) => c.analysis.mde * 100));
  if (mde !== null) L.push(`Minimum detectable effect (80% power, α 0.01): ${mde} per cell; smaller changes can hide behind "no change".`);
  L.push(
    `Verdicts: improvement/regression need a BH-adjusted q ≤ 0.05 across all ${b.cells.length} cells, a 95% CI excluding 1 and a change beyond the cell's noise floor.`,
  );
  return L;
}

/** Machine profile, warnings and the commands to repeat one run of each cell, in collapsible blocks. */
export function detailsLines(r: Report): string[] {
  const b = r.bench;
  if (!b) return [];
  const d = b.stage.data;
  const L = ["<details><summary>Machine</summary>", "", "```"];
  for (const [k, v] of Object.entries(d.profile)) L.push(fenceSafe(`${k}: ${v}`));
  L.push("```");
  if (d.warnings.length) {
    L.push("", "Not tuned (numbers are relative to this box only):");
    for (const w of d.warnings) L.push(`- ${escapeMarkdown(w)}`);
  }
  for (const p of d.problems) L.push(`- problem: ${escapeMarkdown(p)}`);
  L.push("", "</details>");
  if (d.commands.length) {
    L.push("", "<details><summary>Reproduce by hand (one run of each cell)</summary>", "", "```sh");
    for (const c of d.commands) L.push(fenceSafe(c));
    L.push("```", "", "</details>");
  }
  return L;
}

/** The first line of every GitHub rendering. */
export function headlineLine(r: Report): string {
  return `**patchbench: ${escapeMarkdown(r.headline)}**`;
}

/**
 * Cut text to a length limit at a line boundary, saying so. GitHub refuses
 * (422) bodies over its limits rather than truncating them.
 */
export function fitText(text: string, limit: number, note: (cut: number) => string): string {
  if (text.length <= limit) return text;
  const tail = (n: number) => `\n\n${note(n)}\n`;
  const budget = limit - tail(text.length).length - 16;
  let cut = text.lastIndexOf("\n", budget);
  if (cut < budget / 2) cut = budget;
  // An unclosed code fence would swallow the note: close it.
  let head = text.slice(0, cut);
  if ((head.match(/^```/gm)?.length ?? 0) % 2 === 1) head += "\n```";
  return head + tail(text.length - cut);
}

/** GitHub's issue-comment body limit (65,536 characters; the API answers 422 above it). */
export const COMMENT_LIMIT = 65_536;

export interface PrCommentOptions {
  /** The /bench line that asked, echoed (escaped). */
  request?: string;
  /** Link to the full report / check run. */
  detailsUrl?: string | null;
  /** Hidden marker so the bot finds its own comment again. */
  marker: string;
}

/** The PR comment that answers a /bench (the acknowledgement, edited in place). */
export function renderPrComment(r: Report, options: PrCommentOptions): string {
  const L: string[] = [`<!-- ${options.marker} -->`, headlineLine(r), ""];
  if (options.request) L.push(`Requested: \`${fenceSafe(options.request).replace(/`/g, "'")}\``, "");
  L.push(...stageLines(r), "", ...sinceLines(r));
  if (r.bench) {
    // The kernel comparison first, then each arm, then the series' claims against them.
    const caption = r.bench.stage.data.kernels ? ["**Base vs candidate kernel** (the series' regression check):", ""] : [];
    L.push(...caption, ...cellTable(r), "", ...armTables(r), ...claimLines(r), ...ratioChart(r), "", ...methodLines(r), "", ...detailsLines(r), "");
  }
  if (options.detailsUrl) L.push(`[Full report](${options.detailsUrl})`, "");
  L.push(`<sub>${escapeMarkdown(r.tool.name)} ${escapeMarkdown(r.tool.version)}, report \`${r.id}\`, ${r.generatedAt}</sub>`);
  return fitText(`${L.join("\n")}\n`, COMMENT_LIMIT, (n) => `_… ${n} characters cut to fit GitHub's comment limit${options.detailsUrl ? `; see the [full report](${options.detailsUrl})` : ""}._`);
}
