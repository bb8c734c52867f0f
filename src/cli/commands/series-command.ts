import { readSeriesInput } from "../read-series-input.ts";

/** `patchbench series <path> [--json]`: the assembled series, nothing run. */
export async function seriesCommand(path: string, opts: { json?: boolean }): Promise<number> {
  const box = await readSeriesInput(path);
  const out = { series: box.series, replies: box.replies, quarantined: box.quarantined };
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  }
  for (const s of box.series) {
    const tags = [s.rfc ? "RFC" : "", s.tree ?? "", `v${s.version}`].filter(Boolean).join(" ");
    process.stdout.write(`${s.title}  [${tags}] ${s.patches.length}/${s.total} patches${s.complete ? "" : `, missing ${s.missing.join(",")}`}\n`);
    process.stdout.write(`  by ${s.author}${s.baseCommit ? `, base ${s.baseCommit.slice(0, 12)}` : ""}${s.previousVersion ? `, supersedes ${s.previousVersion}` : ""}\n`);
    for (const p of s.patches) process.stdout.write(`  ${String(p.index).padStart(3)}  ${p.subject}\n`);
    for (const t of s.trailers) process.stdout.write(`       ${t.patch === 0 ? "series" : `patch ${t.patch}`}: ${t.line}\n`);
  }
  process.stdout.write(`${box.series.length} series, ${box.replies.length} replies, ${box.quarantined.length} quarantined\n`);
  for (const q of box.quarantined) process.stdout.write(`  quarantined ${q.messageId ?? "(no Message-ID)"}: ${q.reason}\n`);
  return 0;
}
