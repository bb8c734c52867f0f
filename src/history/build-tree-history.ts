import { createHash } from "node:crypto";
import type { BenchData } from "../domain/results.ts";
import type { TypedStageResult } from "../domain/stage-result-schema.ts";
import type { CellAnalysis } from "../stats/analyze-cell.ts";
import { type CandidateChange, findCandidateChanges } from "../stats/candidate-changes.ts";
import type { HistoryPoint } from "../stats/change-points.ts";

/** One tip flow as stored: its plan's tip, its stage results and its cells' analyses. */
export interface StoredTip {
  flowId: string;
  status: string;
  createdAt: string;
  finishedAt: string | null;
  tip: { base: string; head: string } | null;
  results: readonly TypedStageResult[];
  cells: readonly { cell: string; analysis: CellAnalysis }[];
}

export interface TipPoint {
  flowId: string;
  head: string;
  base: string;
  at: string;
  /** The tip's own side (B): geometric mean of its round means. */
  value: number;
  /** B/A against the previous measured tip (one interleaved job), null for an A/A first point. */
  step: { ratio: number; ciLow: number; ciHigh: number; cv: number } | null;
  verdict: string;
}

export interface CellLine {
  cell: string;
  points: TipPoint[];
  /** Change points confirmed (or not) by the chain of A/B steps, with the reason in words. */
  changes: CandidateChange[];
}

export interface ProfileLine {
  /** Short digest of `words`: one history per machine profile, never mixed. */
  key: string;
  words: string;
  cells: CellLine[];
}

export interface TreeHistory {
  tree: string;
  profiles: ProfileLine[];
  /** Tips that did not give numbers (did not build, boot or measure), with why. */
  skipped: { flowId: string; head: string; why: string }[];
  /** Tips still being measured. */
  pending: { flowId: string; head: string }[];
}

/** The parts of a bench's machine that decide its numbers (not the kernel under test, which is what moves). */
export function profileWords(bench: BenchData): string {
  const p = bench.profile;
  const k = bench.kernels;
  return [p.cpu, p["governor/SMT/turbo"] ? `governor/SMT/turbo ${p["governor/SMT/turbo"]}` : null, p.isolcpus ? `isolcpus ${p.isolcpus}` : null, p.netperf ? `netperf ${p.netperf}` : null, k ? `${k.mode}, ${k.accel}` : "host kernel"]
    .filter((x): x is string => typeof x === "string" && x.length > 0)
    .join("; ");
}

function whyNoNumbers(t: StoredTip): string {
  const failed = t.results.find((r) => r.status === "fail" || r.status === "error" || r.status === "skip");
  if (failed) return `${failed.stage}: ${failed.summary}`;
  if (!t.results.some((r) => r.stage === "bench")) return "no bench stage ran";
  return `ended ${t.status} without measured cells`;
}

/**
 * Pure: a tree's history from its tip flows (oldest first): per machine profile and cell, the
 * chain of tips with each one's A/B step against the one before, and the change points that
 * the chain confirms. Tips without numbers are listed apart, never a point.
 */
export function buildTreeHistory(tree: string, tips: readonly StoredTip[]): TreeHistory {
  const out: TreeHistory = { tree, profiles: [], skipped: [], pending: [] };
  const byProfile = new Map<string, { words: string; cells: Map<string, TipPoint[]> }>();
  for (const t of tips) {
    const head = t.tip?.head ?? "?";
    if (t.finishedAt === null) {
      out.pending.push({ flowId: t.flowId, head });
      continue;
    }
    const bench = t.results.find((r) => r.stage === "bench")?.data as BenchData | undefined;
    if (!t.tip || !bench || t.cells.length === 0) {
      out.skipped.push({ flowId: t.flowId, head, why: t.tip ? whyNoNumbers(t) : "no tip in the flow's plan" });
      continue;
    }
    const words = profileWords(bench);
    const line = byProfile.get(words) ?? { words, cells: new Map<string, TipPoint[]>() };
    byProfile.set(words, line);
    const aa = t.tip.base === t.tip.head;
    for (const c of t.cells) {
      const a = c.analysis;
      const points = line.cells.get(c.cell) ?? [];
      // A step joins the chain only when it was measured against the point before it in this
      // line (another machine's tip, or one without numbers in between, leaves a hole, not a wrong step).
      const contiguous = points.length > 0 && points.at(-1)!.head === t.tip.base;
      points.push({
        flowId: t.flowId,
        head: t.tip.head,
        base: t.tip.base,
        at: t.createdAt,
        value: a.meanB,
        step: aa || !a.ci95 || !contiguous ? null : { ratio: a.ratio, ciLow: a.ci95[0], ciHigh: a.ci95[1], cv: Math.max(a.cvA, a.cvB) },
        verdict: a.verdict,
      });
      line.cells.set(c.cell, points);
    }
  }
  for (const [words, line] of byProfile) {
    const cells = [...line.cells].map(([cell, points]) => {
      const history: HistoryPoint[] = points.map((p) => ({ commit: p.head, value: p.value, ratioToPrevious: p.step }));
      return { cell, points, changes: points.length >= 3 ? findCandidateChanges(history) : [] };
    });
    out.profiles.push({ key: createHash("sha256").update(words).digest("hex").slice(0, 8), words, cells });
  }
  return out;
}
