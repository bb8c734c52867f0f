import { formatPercent } from "../stats/analyze-cell.ts";
import { type Html, html } from "./html.ts";
import type { BenchCellView } from "./web-view-schemas.ts";

const WIDTH = 640;
const LABEL = 220;
const ROW = 22;
const TOP = 24;
const BOTTOM = 24;
const COLOURS: Record<string, string> = { improvement: "#176f2c", regression: "#b3261e", noisy: "#8a5a00" };

function fmt(x: number): string {
  return x.toFixed(3);
}

/**
 * B/A of each cell with its 95% interval, drawn against 1.0 (no change): one row per cell,
 * the point at the ratio, the bar over the interval. A cell without a ratio gets a row saying so.
 */
export function renderRatioChart(cells: readonly BenchCellView[]): Html {
  const values = cells.flatMap((c) => [c.ratio, c.ci95?.[0] ?? null, c.ci95?.[1] ?? null]).filter((v): v is number => v !== null);
  let lo = Math.min(1, ...values);
  let hi = Math.max(1, ...values);
  const pad = (hi - lo) * 0.05 || 0.05;
  lo -= pad;
  hi += pad;
  const plot = WIDTH - LABEL - 16;
  const x = (v: number) => LABEL + ((v - lo) / (hi - lo)) * plot;
  const height = TOP + cells.length * ROW + BOTTOM;
  const bottom = TOP + cells.length * ROW;
  const rows = cells.map((c, i) => {
    const y = TOP + i * ROW + ROW / 2;
    const colour = COLOURS[c.verdict] ?? "#555";
    const label = html`<text x="${LABEL - 8}" y="${y + 4}" text-anchor="end" font-size="12">${c.key}</text>`;
    if (c.ratio === null) return html`<g class="cell">${label}<text x="${LABEL + 4}" y="${y + 4}" font-size="12" fill="#666">not estimable</text></g>`;
    const bar = c.ci95 && c.ci95[0] !== null && c.ci95[1] !== null
      ? html`<line class="ci" x1="${fmt(x(c.ci95[0]))}" x2="${fmt(x(c.ci95[1]))}" y1="${y}" y2="${y}" stroke="${colour}" stroke-width="3"/>`
      : "";
    return html`<g class="cell">${label}${bar}<circle class="point" data-cell="${c.key}" cx="${fmt(x(c.ratio))}" cy="${y}" r="4" fill="${colour}"><title>${c.key}: ${formatPercent(c.ratio - 1)} (${c.verdict})</title></circle></g>`;
  });
  const ticks = [lo + pad, 1, hi - pad].filter((v, i, a) => a.indexOf(v) === i);
  return html`<svg class="chart ratios" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="B/A ratio with 95% interval per cell">
<line x1="${fmt(x(1))}" x2="${fmt(x(1))}" y1="${TOP - 6}" y2="${bottom}" stroke="#999" stroke-dasharray="3 3"/>
${rows}
${ticks.map((t) => html`<text x="${fmt(x(t))}" y="${bottom + 16}" text-anchor="middle" font-size="11" fill="#444">${t.toFixed(3)}</text>`)}
<text x="${LABEL}" y="14" font-size="11" fill="#444">B/A (1.000 = no change), bar = 95% interval</text>
</svg>`;
}
