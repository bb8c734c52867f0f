import type { TreeHistory } from "../history/build-tree-history.ts";
import { formatChange, formatQuantity } from "../report/format-number.ts";
import { type Html, html } from "./html.ts";
import { renderLayout, statusWord } from "./render-layout.ts";
import type { TreesView } from "./tree-history-schema.ts";

const WIDTH = 640;
const HEIGHT = 140;
const LEFT = 64;
const PAD = 12;
const short = (sha: string) => sha.slice(0, 12);

type Line = TreeHistory["profiles"][number]["cells"][number];

/** A cell's tips in order (the tip side's value), change points as vertical lines: solid when the A/B chain confirms it. */
function chart(c: Line): Html {
  const values = c.points.map((p) => p.value);
  if (values.length === 0) return html``;
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const span = hi - lo || Math.abs(hi) * 0.01 || 1;
  const x = (i: number) => LEFT + (c.points.length === 1 ? 0 : (i / (c.points.length - 1)) * (WIDTH - LEFT - PAD));
  const y = (v: number) => HEIGHT - PAD - ((v - lo) / span) * (HEIGHT - 2 * PAD);
  const marks = c.changes.map((ch) => {
    const at = (x(ch.index - 1) + x(ch.index)) / 2;
    return html`<line class="change" x1="${at.toFixed(1)}" x2="${at.toFixed(1)}" y1="${PAD}" y2="${HEIGHT - PAD}" stroke="${ch.candidate ? "#b3261e" : "#999"}" ${ch.candidate ? "" : html`stroke-dasharray="4 3"`}><title>${ch.verdict}</title></line>`;
  });
  const dots = c.points.map(
    (p, i) => html`<circle class="tip" cx="${x(i).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="3" fill="#1f5fa8"><title>${short(p.head)}: ${formatQuantity(p.value)}</title></circle>`,
  );
  return html`<svg class="chart history" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${c.cell} over ${c.points.length} tips">
<text x="${LEFT - 6}" y="${PAD + 4}" text-anchor="end" font-size="10" fill="#444">${formatQuantity(hi)}</text>
<text x="${LEFT - 6}" y="${HEIGHT - PAD + 4}" text-anchor="end" font-size="10" fill="#444">${formatQuantity(lo)}</text>
<line x1="${LEFT - 2}" x2="${LEFT - 2}" y1="${PAD}" y2="${HEIGHT - PAD}" stroke="#ccc"/>
${marks}${dots}
</svg>`;
}

function step(p: Line["points"][number]): string {
  if (p.step === null) return p.base === p.head ? "A/A (first tip)" : `vs ${short(p.base)}: not in this line`;
  return `${formatChange(p.step.ratio)} [${formatChange(p.step.ciLow)}, ${formatChange(p.step.ciHigh)}]`;
}

function cellSection(c: Line): Html {
  return html`<h3>${c.cell}</h3>
${chart(c)}
<p>${c.points.length} tips, oldest first: the tip side's netperf throughput; each step one interleaved A/B against the tip before it.${c.changes.length > 0 ? " Lines: change points (solid: confirmed by the A/B chain)." : ""}</p>
<table><thead><tr><th>tip</th><th>measured</th><th>value</th><th>vs the tip before (95% CI)</th><th>verdict</th></tr></thead><tbody>
${c.points.map((p) => html`<tr><td><a href="/runs/${p.flowId}"><code>${short(p.head)}</code></a></td><td>${p.at.slice(0, 16).replace("T", " ")}</td><td class="num">${formatQuantity(p.value)}</td><td class="num">${step(p)}</td><td>${statusWord(p.verdict)}</td></tr>`)}
</tbody></table>
${c.changes.length > 0 ? html`<ul>${c.changes.map((ch) => html`<li>${ch.candidate ? "Change" : "Not a change"}: ${ch.verdict}</li>`)}</ul>` : ""}`;
}

/** A tree's history: per machine profile and cell, its tips over time with the change points marked, numbers beside. */
export function renderTreeHistoryPage(h: TreeHistory): string {
  const body = html`<h1>${h.tree}: history</h1>
<p>${h.profiles.reduce((n, p) => n + Math.max(0, ...p.cells.map((c) => c.points.length)), 0)} measured tips, ${h.pending.length} being measured, ${h.skipped.length} without numbers. <a href="/api/trees/${h.tree}">JSON</a></p>
${h.profiles.length === 0 && h.skipped.length === 0 && h.pending.length === 0 ? html`<p>No tip of ${h.tree} was measured yet (<code>history.enabled</code> in its tree file).</p>` : ""}
${h.profiles.map((p) => html`<section><h2>Machine ${p.key}</h2><p>${p.words}</p>${p.cells.map(cellSection)}</section>`)}
${h.skipped.length > 0 ? html`<h2>Without numbers</h2><ul>${h.skipped.map((s) => html`<li><a href="/runs/${s.flowId}"><code>${short(s.head)}</code></a>: ${s.why}</li>`)}</ul>` : ""}
${h.pending.length > 0 ? html`<h2>Being measured</h2><ul>${h.pending.map((s) => html`<li><a href="/runs/${s.flowId}"><code>${short(s.head)}</code></a></li>`)}</ul>` : ""}`;
  return renderLayout(`${h.tree} history`, body);
}

/** The configured trees, each linking its history. */
export function renderTreesPage(v: TreesView): string {
  return renderLayout(
    "trees",
    html`<h1>Trees</h1>
<table><thead><tr><th>tree</th><th>tip measured on a schedule</th></tr></thead><tbody>
${v.trees.map((t) => html`<tr><td><a href="/trees/${t.name}">${t.name}</a></td><td>${t.history ? "yes" : "no"}</td></tr>`)}
</tbody></table>`,
  );
}
