import { formatPercent } from "../stats/analyze-cell.ts";
import { describeSeriesChanges } from "../report/describe-version-changes.ts";
import { hasResults } from "../report/version-summary.ts";
import { type Html, html } from "./html.ts";
import { renderLayout, statusWord } from "./render-layout.ts";
import type { BenchCellView, SeriesView } from "./web-view-schemas.ts";

type Version = SeriesView["versions"][number];
const STAGE_ROWS = ["apply", "checks", "build", "warnings", "boot", "selftests", "bench"] as const;
const ROW_NAMES: Record<(typeof STAGE_ROWS)[number], string> = { apply: "apply", checks: "checks", build: "build", warnings: "build warnings", boot: "boot", selftests: "selftests", bench: "bench" };

/** A cell's effect in one line: ratio as a change, its interval, the verdict word. */
export function describeCell(c: BenchCellView): Html {
  if (c.ratio === null) return html`${statusWord(c.verdict)}`;
  const ci = c.ci95 && c.ci95[0] !== null && c.ci95[1] !== null ? ` [${formatPercent(c.ci95[0] - 1)}, ${formatPercent(c.ci95[1] - 1)}]` : "";
  return html`${formatPercent(c.ratio - 1)}${ci} ${statusWord(c.verdict)}`;
}

function stageCell(v: Version, row: (typeof STAGE_ROWS)[number]): Html {
  const s = v[row];
  return s ? html`<td title="${s.summary}">${statusWord(s.status)} ${s.summary}</td>` : html`<td>–</td>`;
}

/** Cover letter, patches with lore links, and every version side by side. */
export function renderSeriesPage(v: SeriesView): string {
  const cellKeys = [...new Set(v.versions.flatMap((x) => x.cells.map((c) => c.key)))];
  const head = v.versions.map(
    (x) => html`<th>${x.seriesId === v.id ? html`v${x.version}` : html`<a href="/series/${encodeURIComponent(x.seriesId)}">v${x.version}</a>`}<br>${
      x.flow ? html`<a href="/runs/${encodeURIComponent(x.flow.id)}">run</a> ${statusWord(x.flow.status)}` : "not run"
    }</th>`,
  );
  const stageRows = STAGE_ROWS.map((row) => html`<tr><th>${ROW_NAMES[row]}</th>${v.versions.map((x) => stageCell(x, row))}</tr>`);
  const benchRows = cellKeys.map(
    (key) =>
      html`<tr><th>${key}</th>${v.versions.map((x) => {
        const c = x.cells.find((y) => y.key === key);
        return c ? html`<td class="num">${describeCell(c)}</td>` : html`<td>–</td>`;
      })}</tr>`,
  );
  return renderLayout(
    v.title,
    html`<h1>${v.title} <small>v${v.version}</small></h1>
<p>${v.author} · ${v.tree ?? "no tree"}${v.date ? ` · ${v.date}` : ""}</p>
<h2>Mails</h2>
<ol class="mails" start="0">
${v.cover ? html`<li><a href="${v.cover.lore}">${v.cover.subject}</a></li>` : html`<li>no cover letter</li>`}
${v.patches.map((p) => html`<li value="${p.index}"><a href="${p.lore}">${p.subject}</a> · ${p.author}</li>`)}
</ol>
<h2>Versions</h2>
<table class="versions">
<thead><tr><th></th>${head}</tr></thead>
<tbody>
${stageRows}
${benchRows}
</tbody>
</table>
${describeSeriesChanges(v.versions, (x) => x.flow?.finishedAt != null && hasResults(x)).map(
  (c) => html`<h3>Since v${c.from}</h3>
${c.lines.length === 0 ? html`<p>v${c.to}: no verdict changed.</p>` : html`<ul class="changes">${c.lines.map((l) => html`<li>v${c.to}: ${l}</li>`)}</ul>`}`,
)}`,
  );
}
