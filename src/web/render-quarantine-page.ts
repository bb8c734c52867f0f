import { html } from "./html.ts";
import { renderAdminForm } from "./render-admin-form.ts";
import { renderLayout } from "./render-layout.ts";
import type { QuarantineView } from "./web-view-schemas.ts";

/** Mail kept aside with its reason; with `admin`, a release form on each mail whose bytes were kept. */
export function renderQuarantinePage(v: QuarantineView, admin = false): string {
  const rows = v.items.map(
    (q) => html`<tr>
<td class="num">${q.id}</td>
<td>${q.createdAt.slice(0, 16).replace("T", " ")}</td>
<td>${q.messageId ?? "(no Message-ID)"}</td>
<td>${q.reason}</td>
<td>${q.source}</td>
<td>${q.kept ? (admin ? renderAdminForm(`/admin/quarantine/${q.id}/release`, "release") : "kept") : "not kept"}</td>
</tr>`,
  );
  return renderLayout(
    "Quarantine",
    html`<h1>Quarantine</h1>
<p>Mail that could not be used, newest first${v.items.length === v.limit ? ` (the newest ${v.limit})` : ""}. A mail whose bytes were kept can be released: it is read again with the next poll (one without a Message-ID gets a synthetic one, and its series' report is not mailed).</p>
${v.items.length === 0 ? html`<p>Nothing is quarantined.</p>` : html`<table class="quarantine">
<thead><tr><th>#</th><th>when (UTC)</th><th>Message-ID</th><th>reason</th><th>source</th><th>mail</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`}`,
  );
}
