import { formatQuantity } from "../report/format-number.ts";
import { type Html, html } from "./html.ts";
import type { RunView } from "./web-view-schemas.ts";

const WIDTH = 640;
const HEIGHT = 120;
const LEFT = 64;
const PAD = 10;
/** A first, B second: the report's order (the legend's .v0/.v1 in the stylesheet match). */
const COLOURS = ["#1f5fa8", "#c25e00"];

/**
 * One cell's A and B runs in the order they ran, each in its colour: a drift, a slow mode
 * (a run far below the others) or a repaired pair (hollow: superseded, measured again)
 * shows at a glance. A failed run is a mark on the axis.
 */
export function renderRunValuesChart(cell: string, runs: RunView["runs"]): Html {
  const all = runs.filter((r) => r.cell === cell);
  // The cell's A and B (its first two variants); an arm's runs sit on another scale and would flatten them.
  const variants = [...new Set(all.map((r) => r.variant))].slice(0, 2);
  const others = [...new Set(all.map((r) => r.variant))].slice(2);
  const mine = all.filter((r) => variants.includes(r.variant));
  const values = mine.map((r) => r.value).filter((v): v is number => v !== null);
  if (values.length === 0) return html`<p>No measured run of ${cell}.</p>`;
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const span = hi - lo || Math.abs(hi) * 0.01 || 1;
  const x = (i: number) => LEFT + (mine.length === 1 ? 0 : (i / (mine.length - 1)) * (WIDTH - LEFT - PAD));
  const y = (v: number) => HEIGHT - PAD - ((v - lo) / span) * (HEIGHT - 2 * PAD);
  const colour = (variant: string) => COLOURS[variants.indexOf(variant)] ?? "#555";
  const points = mine.map((r, i) => {
    const c = colour(r.variant);
    if (r.value === null) return html`<text class="failed" x="${x(i).toFixed(1)}" y="${HEIGHT - 1}" text-anchor="middle" font-size="10" fill="${c}">×<title>run ${i + 1} (${r.variant}) failed</title></text>`;
    return html`<circle class="run" cx="${x(i).toFixed(1)}" cy="${y(r.value).toFixed(1)}" r="3" ${r.superseded ? html`fill="none" stroke="${c}"` : html`fill="${c}"`}><title>run ${i + 1} (${r.variant}): ${formatQuantity(r.value)}${r.superseded ? ", superseded" : ""}</title></circle>`;
  });
  return html`<figure class="runs">
<svg class="chart runs" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="runs of ${cell} in run order">
<text x="${LEFT - 6}" y="${PAD + 4}" text-anchor="end" font-size="10" fill="#444">${formatQuantity(hi)}</text>
<text x="${LEFT - 6}" y="${HEIGHT - PAD + 4}" text-anchor="end" font-size="10" fill="#444">${formatQuantity(lo)}</text>
<line x1="${LEFT - 2}" x2="${LEFT - 2}" y1="${PAD}" y2="${HEIGHT - PAD}" stroke="#ccc"/>
${points}
</svg>
<figcaption>${cell}: ${mine.length} runs in run order; ${variants.map((v, i) => html`${i > 0 ? ", " : ""}<span class="v${i}">●</span> ${v}`)}${mine.some((r) => r.superseded) ? "; hollow: superseded and measured again" : ""}${others.length > 0 ? `; runs of ${others.join(", ")} are in the raw samples` : ""}</figcaption>
</figure>`;
}
