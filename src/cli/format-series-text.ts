import { describeCarried } from "../domain/describe-carried.ts";
import type { Series } from "../domain/series.ts";

/** Pure: what `patchbench series <path>` prints without `--json`. */
export function formatSeriesText(box: {
  series: readonly Series[];
  replies: readonly unknown[];
  quarantined: readonly { messageId: string | null; reason: string }[];
}): string {
  const L: string[] = [];
  for (const s of box.series) {
    const tags = [s.rfc ? "RFC" : "", s.tree, `v${s.version}`].filter(Boolean).join(" ");
    L.push(`${s.title}  [${tags}] ${s.patches.length}/${s.total} patches${s.complete ? "" : `, missing ${s.missing.join(",")}`}`);
    L.push(`  by ${s.author}${s.baseCommit ? `, base ${s.baseCommit.slice(0, 12)}` : ""}${s.previousVersion ? `, supersedes ${s.previousVersion}` : ""}`);
    if (s.syntheticMessageIds) L.push("  (no Message-IDs: ids are synthetic, derived from each mail's bytes)");
    const carried = describeCarried(s);
    if (carried !== null) L.push(`  partial re-roll: ${carried}`);
    for (const p of s.patches) L.push(`  ${String(p.index).padStart(3)}  ${p.subject}${p.carriedFrom !== undefined ? `  (carried from v${p.carriedFrom})` : ""}`);
    const where = (patch: number): string => (patch === 0 ? "series" : `patch ${patch}`);
    for (const t of s.trailers) L.push(`       ${where(t.patch)}: ${t.line}`);
    for (const t of s.unattributedTrailers ?? []) L.push(`       ${where(t.patch)}: not attributed: ${t.line} (${t.reason})`);
  }
  L.push(`${box.series.length} series, ${box.replies.length} replies, ${box.quarantined.length} quarantined`);
  for (const q of box.quarantined) L.push(`  quarantined ${q.messageId ?? "(no Message-ID)"}: ${q.reason}`);
  return `${L.map((l) => `${l}\n`).join("")}`;
}
