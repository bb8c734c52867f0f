import { html } from "./html.ts";
import { renderAdminForm } from "./render-admin-form.ts";
import { renderLayout, statusWord } from "./render-layout.ts";
import type { QueueView } from "./web-view-schemas.ts";

/**
 * Runners, jobs per queue (from Redis), the pools' load, the unfinished flows (from the store) oldest first
 * with their estimated start and how it was estimated, and the recent failures; with `admin`, pause/resume forms.
 */
export function renderQueuePage(v: QueueView, admin = false): string {
  const s = v.state;
  const columns = [...new Set(s.queues.flatMap((q) => Object.keys(q.counts)))];
  return renderLayout(
    "Queue",
    html`<h1>Queue and runners</h1>
${s.available ? "" : html`<p class="error">Queue state unavailable: ${s.reason ?? "no Redis"}</p>`}
<h2>Runners</h2>
${s.runners.length === 0 ? html`<p>No runner agent registered.</p>` : html`<table class="runners">
<thead><tr><th>runner</th><th>pool</th><th>host</th><th>state</th><th>last heartbeat</th><th>job</th></tr></thead>
<tbody>
${s.runners.map(
  (r) => html`<tr><td>${r.id}</td><td>${r.pool}</td><td>${r.host}</td><td>${statusWord(r.state)}</td><td class="num">${Math.round(r.seenSecAgo)} s ago</td><td>${
    r.job ? html`<a href="/runs/${encodeURIComponent(r.job.flowId)}">${r.job.flowId}</a> ${r.job.stage}${r.jobSec === null ? "" : ` (${Math.round(r.jobSec)} s)`}` : "–"
  }</td></tr>`,
)}
</tbody>
</table>`}
${s.unreadableRunners > 0 ? html`<p>${s.unreadableRunners} runner record(s) unreadable.</p>` : ""}
<h2>Jobs per queue</h2>
${s.queues.length === 0 ? "" : html`<table class="queues">
<thead><tr><th>queue</th><th>paused</th>${columns.map((c) => html`<th>${c}</th>`)}${admin ? html`<th>admin</th>` : ""}</tr></thead>
<tbody>
${s.queues.map((q) => {
  const pool = q.name.startsWith("pool-") ? q.name.slice(5) : null;
  const form = admin && pool ? renderAdminForm(`/admin/pools/${encodeURIComponent(pool)}/${q.paused ? "resume" : "pause"}`, q.paused ? "resume" : "pause") : "";
  return html`<tr><td>${q.name}</td><td>${q.paused ? "yes" : "no"}</td>${columns.map((c) => html`<td class="num">${q.counts[c] ?? 0}</td>`)}${admin ? html`<td>${form}</td>` : ""}</tr>`;
})}
</tbody>
</table>`}
<h2>Pools</h2>
${v.pools.length === 0 ? html`<p>No pool has a runner or a stage job.</p>` : html`<table class="pools">
<thead><tr><th>pool</th><th>runners idle</th><th>runners busy</th><th>flows running</th><th>flows waiting</th></tr></thead>
<tbody>
${v.pools.map((p) => html`<tr><td>${p.pool}</td><td class="num">${p.idle}</td><td class="num">${p.busy}</td><td class="num">${p.running}</td><td class="num">${p.waiting}</td></tr>`)}
</tbody>
</table>`}
<h2>Unfinished flows</h2>
${v.unfinished.length === 0 ? html`<p>None.</p>` : html`<table class="unfinished">
<thead><tr><th>#</th><th>flow</th><th>status</th><th>pool</th><th>place in pool</th><th>runner time left</th><th>estimated start (UTC)</th><th>enqueued (UTC)</th></tr></thead>
<tbody>
${v.unfinished.map(
  (f) => html`<tr><td class="num">${f.position}</td><td><a href="/runs/${encodeURIComponent(f.id)}">${f.id}</a></td><td>${statusWord(f.status)}</td><td>${f.pool ?? "–"}</td><td class="num">${
    f.poolPosition ?? "–"
  }</td><td class="num">${f.remainingSec === null ? "–" : minutes(f.remainingSec)}</td><td>${startWords(f)}</td><td>${utc(f.createdAt)}</td></tr>`,
)}
</tbody>
</table>`}${v.unfinishedTotal > v.unfinished.length ? html`
<p>The first ${v.unfinished.length} of ${v.unfinishedTotal} unfinished flows; each one is estimated behind all the flows before it.</p>` : ""}
<p>Estimated at ${utc(v.now)} UTC.</p>
<ul class="estimate">
${v.estimateWords.map((w) => html`<li>${w}</li>`)}
</ul>
<h2>Recent failures</h2>
${v.failures.length === 0 ? html`<p>None.</p>` : html`<table class="failures">
<thead><tr><th>when (UTC)</th><th>flow</th><th>stage</th><th>reason</th></tr></thead>
<tbody>
${v.failures.map(
  (f) => html`<tr><td>${f.at === null ? "–" : utc(f.at)}</td><td><a href="/runs/${encodeURIComponent(f.flowId)}">${f.flowId}</a></td><td>${f.stage ?? "–"}</td><td>${f.reason}</td></tr>`,
)}
</tbody>
</table>`}`,
  );
}

/** An ISO time as "2026-12-07 17:05". */
function utc(iso: string): string {
  return iso.slice(0, 16).replace("T", " ");
}

function minutes(sec: number): string {
  return `≈ ${Math.max(1, Math.round(sec / 60))} min`;
}

function startWords(f: QueueView["unfinished"][number]): string {
  if (f.running) return "running";
  if (f.pool === null) return "– (no stage job in the queue)";
  return f.startsAt === null ? "no runner up in this pool" : utc(f.startsAt);
}
