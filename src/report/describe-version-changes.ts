import { formatChange, formatSize } from "./format-number.ts";
import type { VersionSummary } from "./version-summary.ts";

const STAGES = ["apply", "checks", "build", "selftests"] as const;
/** Verdicts that say the cell moved; the others (no change, noisy, inconclusive) say it did not, or could not tell. */
const MOVED = new Set(["regression", "improvement"]);

function change(ratio: number | null): string {
  return ratio === null ? "" : `${formatChange(ratio)} `;
}

/** A cell key (TCP_RR/container/1024) as the reports name the cell: "TCP_RR container 1 KB". */
export function cellKeyLabel(key: string): string {
  const [test, topology, size] = key.split("/");
  if (test === undefined || topology === undefined || size === undefined || !/^\d+$/.test(size)) return key;
  return `${test} ${topology} ${formatSize(Number(size))}`;
}

/**
 * What changed from one version to the next that ran, in words: a stage that started or
 * stopped failing, a cell whose regression or improvement appeared or went away. Cells only
 * one of them measured are left out (nothing to compare).
 */
export function describeVersionChanges(prev: VersionSummary, next: VersionSummary): string[] {
  const out: string[] = [];
  for (const s of STAGES) {
    const a = prev[s]?.status;
    const b = next[s]?.status;
    if (a === undefined || b === undefined || a === b) continue;
    if (b === "fail") out.push(`${s} fails (was ${a} in v${prev.version})`);
    else if (a === "fail") out.push(`${s} fixed: ${b} (was fail in v${prev.version})`);
  }
  for (const c of next.cells) {
    const p = prev.cells.find((x) => x.key === c.key);
    if (!p || p.verdict === c.verdict || (!MOVED.has(p.verdict) && !MOVED.has(c.verdict))) continue;
    const cell = cellKeyLabel(c.key);
    // "No longer" only when the newer version says so; a noisy or undecided cell did not show it went away.
    if (MOVED.has(p.verdict) && c.verdict === "no change") out.push(`no longer the ${change(p.ratio)}${p.verdict} that v${prev.version} had on ${cell} (now ${change(c.ratio)}no change)`);
    else if (MOVED.has(p.verdict) && !MOVED.has(c.verdict)) out.push(`the ${change(p.ratio)}${p.verdict} that v${prev.version} had on ${cell} is not confirmed (now ${change(c.ratio)}${c.verdict})`);
    else out.push(`${change(c.ratio)}${c.verdict} on ${cell} (v${prev.version}: ${change(p.ratio)}${p.verdict})`);
  }
  return out;
}

/** Each version that ran against the one before it that ran, newest first. */
export function describeSeriesChanges<V extends VersionSummary>(versions: readonly V[], ran: (v: V) => boolean): { from: number; to: number; lines: string[] }[] {
  const done = versions.filter(ran);
  const out: { from: number; to: number; lines: string[] }[] = [];
  for (let i = done.length - 1; i > 0; i--) {
    const [a, b] = [done[i - 1]!, done[i]!];
    out.push({ from: a.version, to: b.version, lines: describeVersionChanges(a, b) });
  }
  return out;
}
