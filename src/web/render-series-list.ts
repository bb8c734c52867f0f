import { type Html, html } from "./html.ts";
import { renderLayout, statusWord } from "./render-layout.ts";
import type { SeriesListView } from "./web-view-schemas.ts";

/** The values the list's filters accept, offered as choices. */
export const LIST_STATES = ["queued", "finished"] as const;
export const LIST_VERDICTS = ["pass", "warn", "fail", "error", "skip"] as const;
export const HAS_REGRESSION = ["yes", "no"] as const;

function query(filter: SeriesListView["filter"], offset: number): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) if (v !== undefined && v !== "") p.set(k, v);
  if (offset > 0) p.set("offset", String(offset));
  const s = p.toString();
  return s ? `/series?${s}` : "/series";
}

function select(name: string, choices: readonly string[], current: string | undefined): Html {
  return html`<label>${name} <select name="${name}"><option value="">any</option>${choices.map(
    (c) => html`<option${c === current ? html` selected` : ""}>${c}</option>`,
  )}</select></label>`;
}

/** Series versions, newest first, with filters and pages; works without JavaScript (a GET form). */
export function renderSeriesList(v: SeriesListView, trees: readonly string[]): string {
  const f = v.filter;
  const rows = v.items.map(
    (s) => html`<tr>
<td><a href="/series/${encodeURIComponent(s.id)}">${s.title}</a></td>
<td class="num">v${s.version}</td>
<td>${s.tree ?? "?"}</td>
<td>${s.authorEmail ? html`<a href="${query({ author: s.authorEmail }, 0)}">${s.author}</a>` : s.author}</td>
<td>${s.latestFlow ? html`<a href="/runs/${encodeURIComponent(s.latestFlow.id)}">${statusWord(s.latestFlow.status)}</a>` : "not run"}${s.flows > 1 ? ` (${s.flows} runs)` : ""}</td>
<td>${s.verdictWords}</td>
<td>${s.createdAt.slice(0, 16).replace("T", " ")}</td>
</tr>`,
  );
  const end = v.offset + v.items.length;
  const prev = v.offset > 0 ? html`<a rel="prev" href="${query(f, Math.max(0, v.offset - v.limit))}">newer</a>` : "";
  const next = end < v.total ? html`<a rel="next" href="${query(f, end)}">older</a>` : "";
  return renderLayout(
    "Series",
    html`<h1>Series</h1>
<form class="filters" method="get" action="/series">
<label>search <input name="q" value="${f.q ?? ""}" maxlength="200" placeholder="subject, author or Message-ID"></label>
${select("tree", trees, f.tree)}
<label>list <input name="list" value="${f.list ?? ""}" maxlength="200" placeholder="bpf.vger.kernel.org"></label>
${select("state", LIST_STATES, f.state)}
${select("verdict", LIST_VERDICTS, f.verdict)}
${select("has-regression", HAS_REGRESSION, f["has-regression"])}
<label>author <input name="author" value="${f.author ?? ""}" maxlength="250" placeholder="name@example.org"></label>
<button type="submit">show</button>
</form>
<p>${v.total === 0 ? "No series match." : `${v.offset + 1}–${end} of ${v.total}`} ${prev} ${next}</p>
${v.items.length === 0 ? "" : html`<table class="series-list">
<thead><tr><th>subject</th><th>version</th><th>tree</th><th>author</th><th>latest run</th><th>bench cells</th><th>received (UTC)</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`}`,
  );
}
