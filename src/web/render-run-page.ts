import { formatPercent } from "../stats/analyze-cell.ts";
import { html } from "./html.ts";
import { renderAdminForm } from "./render-admin-form.ts";
import { renderLayout, statusWord } from "./render-layout.ts";
import { renderRatioChart } from "./render-ratio-chart.ts";
import { renderRunValuesChart } from "./render-run-values-chart.ts";
import type { RunView } from "./web-view-schemas.ts";

function duration(s: number | null): string {
  if (s === null) return "?";
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

function num(x: number | null, digits = 3): string {
  return x === null ? "?" : x.toFixed(digits);
}

function size(bytes: number): string {
  return bytes < 1024 * 1024 ? `${bytes} bytes` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Whole files (to download) from this host's runner artifacts; elsewhere the stored last lines and the runner that keeps the file. */
function renderLogs(logs: RunView["logs"]) {
  const tails = logs.some((l) => !l.whole);
  const say = logs.some((l) => l.whole)
    ? `Whole logs from the runner's artifacts on this host (kept for runner.artifactsKeepDays; over 16 MiB, the last 16 MiB)${tails ? "; the others are the last lines the runner sent back." : "."}`
    : "The last lines the runner sent back; the first line of each names where the whole file is.";
  return html`<p>${say}</p>
<ul class="logs">${logs.map((l) =>
    l.whole
      ? html`<li>${l.title} (${size(l.bytes)}, the whole log): <a href="${l.url}" download>download</a></li>`
      : html`<li>${l.title} (${size(l.bytes)}, the last lines only: the full log stays on runner ${l.runner ?? "?"}): <a href="${l.url}">view</a> · <a href="${l.url}" download>download</a></li>`,
  )}</ul>`;
}

/** The bench machine and how to repeat one run of each cell, as the report has them. */
function renderMachine(m: NonNullable<RunView["machine"]>) {
  const profile = Object.entries(m.profile);
  return html`<h2>Machine</h2>
${profile.length === 0 ? html`<p>The bench stage described no machine.</p>` : html`<table class="machine"><tbody>
${profile.map(([k, val]) => html`<tr><th>${k}</th><td>${val}</td></tr>
`)}
</tbody></table>`}
${m.warnings.length === 0 ? "" : html`<p>Not tuned (numbers are relative to this box only):</p>
<ul class="warnings">${m.warnings.map((w) => html`<li>${w}</li>`)}</ul>`}
${m.problems.length === 0 ? "" : html`<ul class="errors">${m.problems.map((p) => html`<li>problem: ${p}</li>`)}</ul>`}
${m.commands.length === 0 ? "" : html`<h2>Reproduce by hand (one run of each cell)</h2>
<pre class="commands">${m.commands.join("\n")}</pre>`}`;
}

/** One flow: its stages in order with durations, and each bench cell with its numbers and the chart; with `admin`, a cancel form while it is unfinished. */
export function renderRunPage(v: RunView, admin = false): string {
  const title = v.series ? `${v.series.title} v${v.series.version}` : v.flow.id;
  const cells = v.cells.map(
    (c) => html`<tr>
<td>${c.key}</td>
<td class="num">${num(c.ratio)}</td>
<td class="num">${c.ci95 ? `${num(c.ci95[0])} – ${num(c.ci95[1])}` : "?"}</td>
<td class="num">${c.ratio === null ? "?" : formatPercent(c.ratio - 1)}</td>
<td>${statusWord(c.verdict)}</td>
<td>${c.reason}</td>
</tr>`,
  );
  return renderLayout(
    title,
    html`<h1>Run ${v.flow.id}</h1>
<p>${v.series ? html`<a href="/series/${encodeURIComponent(v.flow.seriesId)}">${title}</a> · ${v.series.author} · ` : ""}${v.flow.tree}${v.flow.base ? ` at ${v.flow.base.slice(0, 12)}` : ""} · ${statusWord(v.flow.status)}</p>
<h2>Stages</h2>
<table class="stages">
<thead><tr><th>stage</th><th>status</th><th>duration</th><th>started (UTC)</th><th>runner</th><th>summary</th></tr></thead>
<tbody>
${v.stages.map(
  (s) => html`<tr><td>${s.stage}</td><td>${statusWord(s.status)}</td><td class="num">${duration(s.durationSec)}</td><td>${s.startedAt}</td><td>${s.runner}</td><td>${s.summary}</td></tr>`,
)}
</tbody>
</table>
${v.errors.length === 0 ? "" : html`<ul class="errors">${v.errors.map((e) => html`<li>${e.stage}: ${e.reason}</li>`)}</ul>`}
${v.cells.length === 0 ? html`<p>No bench cells.</p>` : html`<h2>Bench: B/A per cell</h2>
${renderRatioChart(v.cells)}
<table class="cells">
<thead><tr><th>cell</th><th>B/A</th><th>95% interval</th><th>change</th><th>verdict</th><th>why</th></tr></thead>
<tbody>
${cells}
</tbody>
</table>
<h2>Runs in run order</h2>
${v.cells.map((c) => renderRunValuesChart(c.key, v.runs))}`}
<p>Raw samples (${v.samples.count}), every run in run order: <a href="${v.samples.json}" download>JSON</a> · <a href="${v.samples.csv}" download>CSV</a></p>
<h2>Logs</h2>
${v.logs.length === 0 ? html`<p>No logs: this run built and booted no kernel, and this host keeps no log file of it.</p>` : renderLogs(v.logs)}${v.benchConsoles ? html`
<p>The bench guests' consoles (${v.benchConsoles.boots} boots) stay on runner ${v.benchConsoles.runner}: a dashboard on its host serves them.</p>` : ""}
${v.machine ? renderMachine(v.machine) : ""}
${admin && v.flow.finishedAt === null ? renderAdminForm(`/admin/runs/${encodeURIComponent(v.flow.id)}/cancel`, "cancel this run") : ""}
${admin && v.flow.finishedAt !== null ? renderAdminForm(`/admin/runs/${encodeURIComponent(v.flow.id)}/rerun`, "run this series again (a fresh run with the same plan)") : ""}`,
  );
}
