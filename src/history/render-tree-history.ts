import { formatPercent } from "../stats/analyze-cell.ts";
import type { TreeHistory } from "./build-tree-history.ts";

const short = (sha: string) => sha.slice(0, 12);
const when = (iso: string) => iso.slice(0, 16).replace("T", " ");

function stepWords(p: { step: { ratio: number; ciLow: number; ciHigh: number } | null; base: string; head: string }): string {
  if (p.step === null) return p.base === p.head ? "(A/A: first tip)" : `(vs ${p.base.slice(0, 12)}: not in line)`;
  return `${formatPercent(p.step.ratio - 1)} [${formatPercent(p.step.ciLow - 1)}, ${formatPercent(p.step.ciHigh - 1)}]`;
}

/** Plain text of a tree's history for the terminal: per machine and cell, every tip and what moved. */
export function renderTreeHistory(h: TreeHistory, opts: { cell?: string } = {}): string {
  const measured = new Set(h.profiles.flatMap((p) => p.cells.flatMap((c) => c.points.map((x) => x.flowId)))).size;
  const lines = [`${h.tree}: ${measured} measured tip(s), ${h.pending.length} being measured, ${h.skipped.length} without numbers`];
  if (h.profiles.length > 1) lines.push(`${h.profiles.length} machine profiles: each is its own history, never compared with another.`);
  for (const p of h.profiles) {
    lines.push("", `Machine ${p.key}: ${p.words}`);
    for (const c of p.cells.filter((x) => opts.cell === undefined || x.cell === opts.cell)) {
      lines.push("", `${c.cell} (netperf throughput on the tip's side; each step one interleaved A/B against the tip before)`);
      lines.push(`  ${"tip".padEnd(12)}  ${"measured".padEnd(16)}  ${"value".padStart(10)}  ${"vs previous tip".padEnd(26)}  verdict`);
      for (const x of c.points) {
        lines.push(`  ${short(x.head)}  ${when(x.at)}  ${x.value.toFixed(0).padStart(10)}  ${stepWords(x).padEnd(26)}  ${x.verdict}`);
      }
      for (const ch of c.changes) lines.push(`  ${ch.candidate ? "Change" : "Not a change"}: ${ch.verdict}`);
      if (c.points.length < 3) lines.push("  (change points need at least 3 tips)");
    }
  }
  if (h.skipped.length > 0) lines.push("", "Without numbers:", ...h.skipped.map((s) => `  ${short(s.head)}  ${s.why}`));
  if (h.pending.length > 0) lines.push("", "Being measured:", ...h.pending.map((s) => `  ${short(s.head)}  flow ${s.flowId}`));
  return `${lines.join("\n")}\n`;
}
