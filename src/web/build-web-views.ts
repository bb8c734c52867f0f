import { z } from "zod";
import type { Series } from "../domain/series.ts";
import type { TypedStageResult } from "../domain/stage-result-schema.ts";
import { stageSummaries } from "../report/version-summary.ts";
import { buildRowsOf } from "./build-boot-rows.ts";
import { benchConsolesElsewhere, type LogFileHere, runLogEntries, runLogsOf } from "./run-logs.ts";
import { verdictWords } from "./verdict-words.ts";
import type { BenchCellView, FlowRef, RunView, SeriesListView, SeriesView } from "./web-view-schemas.ts";

/** A link to the mail on lore (lore redirects /all/<id>/ to the list that has it). */
export function loreUrl(messageId: string): string {
  return `https://lore.kernel.org/all/${encodeURIComponent(messageId)}/`;
}

export interface StoredFlowRef {
  id: string;
  status: string;
  createdAt: string;
  finishedAt: string | null;
}

/** A verdict row as the store keeps it: the cell's whole analysis as JSON. */
export interface StoredVerdict {
  cell: string;
  verdict: string;
  data: string;
}

const finite = z.preprocess((v) => (typeof v === "number" && Number.isFinite(v) ? v : null), z.number().nullable());
const storedAnalysisSchema = z.object({
  ratio: finite,
  ci95: z.tuple([finite, finite]).nullable().catch(null),
  reason: z.string().catch(""),
  meanA: finite,
  meanB: finite,
  nA: finite,
  nB: finite,
});

/** A stored verdict as shown: the numbers the report decided on, never computed again here. */
export function benchCellView(v: StoredVerdict): BenchCellView {
  let parsed: z.infer<typeof storedAnalysisSchema> | null = null;
  try {
    const r = storedAnalysisSchema.safeParse(JSON.parse(v.data));
    if (r.success) parsed = r.data;
  } catch {
    parsed = null;
  }
  if (!parsed) return { key: v.cell, verdict: v.verdict, ratio: null, ci95: null, reason: "the stored analysis is unreadable", meanA: null, meanB: null, nA: null, nB: null };
  return { key: v.cell, verdict: v.verdict, ...parsed };
}

function flowRef(f: StoredFlowRef | null | undefined): FlowRef | null {
  return f ? { id: f.id, status: f.status, createdAt: f.createdAt, finishedAt: f.finishedAt } : null;
}

export function buildSeriesListView(input: {
  total: number;
  offset: number;
  limit: number;
  filter: SeriesListView["filter"];
  rows: { id: string; series: Series | null; createdAt: string; authorEmail: string; flows: StoredFlowRef[]; verdicts: Record<string, number> }[];
}): SeriesListView {
  return {
    total: input.total,
    offset: input.offset,
    limit: input.limit,
    filter: input.filter,
    items: input.rows.map((r) => ({
      id: r.id,
      title: r.series?.title ?? "(the stored series is unreadable)",
      version: r.series?.version ?? 0,
      tree: r.series?.tree ?? null,
      author: r.series?.author ?? "",
      authorEmail: r.authorEmail,
      messageId: r.series?.cover?.messageId ?? r.series?.patches[0]?.messageId ?? null,
      createdAt: r.createdAt,
      latestFlow: flowRef(r.flows[0]),
      flows: r.flows.length,
      verdicts: r.verdicts,
      verdictWords: verdictWords(r.verdicts),
    })),
  };
}

export interface StoredVersion {
  series: Series;
  /** The flow shown for this version (its newest), or null when none ran. */
  flow: StoredFlowRef | null;
  results: TypedStageResult[];
  verdicts: StoredVerdict[];
}

/** The series page: `series` with every version of it side by side (oldest first). */
export function buildSeriesView(series: Series, versions: readonly StoredVersion[]): SeriesView {
  return {
    id: series.id,
    title: series.title,
    version: series.version,
    tree: series.tree,
    author: series.author,
    date: series.date,
    cover: series.cover ? { subject: series.cover.subject, messageId: series.cover.messageId, lore: loreUrl(series.cover.messageId) } : null,
    patches: series.patches.map((p) => ({ index: p.index, subject: p.subject, author: p.author, messageId: p.messageId, lore: loreUrl(p.messageId) })),
    versions: versions.map((v) => ({
      seriesId: v.series.id,
      version: v.series.version,
      flow: flowRef(v.flow),
      ...stageSummaries(v.results),
      ...buildRowsOf(v.results),
      cells: v.verdicts.map(benchCellView),
    })),
  };
}

/** Runs drawn on a run page at most; the rest are in the raw samples. */
export const MAX_RUNS_SHOWN = 20_000;

function seconds(from: string, to: string): number | null {
  const d = (Date.parse(to) - Date.parse(from)) / 1000;
  return Number.isFinite(d) && d >= 0 ? d : null;
}

/** What the report's "Machine" and "Reproduce by hand" sections show, from the same bench result. */
function machineOf(results: readonly TypedStageResult[]): RunView["machine"] {
  const bench = results.find((r) => r.stage === "bench");
  const d = bench?.stage === "bench" ? bench.data : null;
  if (!d) return null;
  return { profile: { ...d.profile }, warnings: [...d.warnings], problems: [...d.problems], commands: [...d.commands] };
}

/** The run page: one flow's stage timeline and bench cells. */
export function buildRunView(input: {
  flow: StoredFlowRef & { seriesId: string; tree: string; base: string | null };
  series: Series | undefined;
  results: readonly TypedStageResult[];
  errors: readonly { stage: string; reason: string }[];
  verdicts: readonly StoredVerdict[];
  /** The raw runs as stored, in run order. */
  samples: readonly { cell: string; variant: string; throughput: number | null; ok: number; superseded: string | null }[];
  /** Where the API serves this flow (e.g. /api/runs/<id>). */
  apiBase: string;
  /** The flow's log files on this host, and the stored logs (by name) whose whole file is among them. */
  logFiles?: { files: readonly LogFileHere[]; whole: ReadonlySet<string> };
}): RunView {
  const f = input.flow;
  const logs = runLogEntries(runLogsOf(input.results), input.logFiles?.files ?? [], input.logFiles?.whole ?? new Set(), input.apiBase);
  return {
    flow: { id: f.id, status: f.status, createdAt: f.createdAt, finishedAt: f.finishedAt, seriesId: f.seriesId, tree: f.tree, base: f.base },
    series: input.series ? { title: input.series.title, version: input.series.version, author: input.series.author } : null,
    stages: input.results.map((r) => ({
      stage: r.stage,
      status: r.status,
      summary: r.summary,
      runner: r.runner,
      startedAt: r.startedAt,
      endedAt: r.endedAt,
      durationSec: seconds(r.startedAt, r.endedAt),
    })),
    errors: input.errors.map((e) => ({ stage: e.stage, reason: e.reason })),
    cells: input.verdicts.map(benchCellView),
    samples: { count: input.samples.length, json: `${input.apiBase}/samples.json`, csv: `${input.apiBase}/samples.csv` },
    logs,
    benchConsoles: benchConsolesElsewhere(input.results, logs),
    machine: machineOf(input.results),
    runs: input.samples.slice(0, MAX_RUNS_SHOWN).map((r) => ({
      cell: r.cell,
      variant: r.variant,
      value: r.ok === 1 && r.throughput !== null && Number.isFinite(r.throughput) ? r.throughput : null,
      superseded: r.superseded !== null,
    })),
  };
}
