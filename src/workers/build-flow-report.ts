import type { BenchSample, Cell } from "../domain/bench.ts";
import type { BenchData, Stage } from "../domain/results.ts";
import type { TypedStageResult } from "../domain/stage-result-schema.ts";
import type { Series } from "../domain/series.ts";
import { type ArmAnalysis, buildReport } from "../report/build-report.ts";
import type { Report } from "../report/report.ts";
import type { VersionSummary } from "../report/version-summary.ts";
import type { MatrixAnalysis } from "../stats/analyze-matrix.ts";
import { analyzeSamples } from "../stats/analyze-samples.ts";
import { listSamples, listStageResults } from "../store/result-repository.ts";
import type { Db } from "../store/open-store.ts";
import { getFlow } from "../store/flow-repository.ts";
import { getSeries } from "../store/series-repository.ts";

export const TOOL = { name: "patchbench", version: "0.1.0" } as const;

/** Stage results → statistics → Report: the one place a flow's report is decided. */
export function buildFlowReport(input: {
  flowId: string;
  series: Series;
  results: TypedStageResult[];
  errors: { stage: Stage; reason: string }[];
  generatedAt: string;
  /** The newest earlier version of the series that ran (see loadPreviousVersion). */
  previous?: VersionSummary | null;
}): { report: Report; analysis: MatrixAnalysis | null } {
  const bench = input.results.find((r) => r.stage === "bench");
  const benchData = bench && bench.status !== "skip" ? bench.data : null;
  const { analysis, armAnalyses } = benchData ? analyzeBench(benchData) : { analysis: null, armAnalyses: [] };
  const report = buildReport({
    armAnalyses,
    id: input.flowId,
    series: input.series,
    results: input.results,
    errors: input.errors,
    analysis,
    generatedAt: input.generatedAt,
    tool: TOOL,
    previous: input.previous ?? null,
  });
  return { report, analysis };
}

/**
 * A bench's comparisons: A (the baseline or base kernel) against B, and each arm against the
 * plain candidate and against the base. Each comparison is one analysis with its own BH set:
 * the arms answer other questions than the series' regression check.
 */
export function analyzeBench(data: BenchData): { analysis: MatrixAnalysis | null; armAnalyses: ArmAnalysis[] } {
  if (data.variants.length < 2) return { analysis: null, armAnalyses: [] };
  const [a, b] = [data.variants[0]!.name, data.variants[1]!.name];
  const arms = (data.arms ?? []).filter((x) => data.variants.some((v) => v.name === x.variant));
  return {
    analysis: analyzeSamples(data.samples, [a, b]),
    armAnalyses: arms.map((x) => ({
      variant: x.variant,
      vsCandidate: analyzeSamples(data.samples, [b, x.variant]),
      vsBase: analyzeSamples(data.samples, [a, x.variant]),
    })),
  };
}

function cellFromKey(key: string): Cell {
  const [test, topology, size] = key.split("/");
  return { test: test as Cell["test"], topology: topology as Cell["topology"], size: Number(size) };
}

/** A flow as the store keeps it: its stage results and, apart, the bench's raw samples. */
export interface StoredFlow {
  flowId: string;
  series: Series;
  /** Stage results as stored (the bench's without its samples). */
  runs: TypedStageResult[];
  /** Stored results that no longer parse, as errors of their stage. */
  errors?: { stage: Stage; reason: string }[];
  samples: Awaited<ReturnType<typeof listSamples>>;
  generatedAt: string;
}

/** Pure: the raw runs of a stored flow as samples again. */
export function samplesOfStoredFlow(f: Pick<StoredFlow, "samples">): BenchSample[] {
  return f.samples.map((s) => ({
    cell: cellFromKey(s.cell),
    variant: s.variant,
    round: s.round,
    run: s.run,
    slot: s.slot,
    startedAt: s.started_at,
    endedAt: s.ended_at,
    values: JSON.parse(s.values_json) as Record<string, string>,
    throughput: s.throughput ?? Number.NaN,
    ok: s.ok === 1,
    ...(s.problem ? { problem: s.problem } : {}),
    ...(s.superseded !== null ? { superseded: s.superseded } : {}),
  }));
}

/** Pure: a stored flow's stage results as the report job had them (the samples put back into its bench result). */
export function resultsOfStoredFlow(f: Pick<StoredFlow, "samples" | "runs">): TypedStageResult[] {
  const samples = samplesOfStoredFlow(f);
  return f.runs.map((r) => (r.stage === "bench" && r.data ? { ...r, data: { ...r.data, samples } } : r));
}

/** Pure: a stored flow's report. */
export function reportOfStoredFlow(f: StoredFlow): Report {
  return buildFlowReport({ flowId: f.flowId, series: f.series, results: resultsOfStoredFlow(f), errors: f.errors ?? [], generatedAt: f.generatedAt }).report;
}

/** Reads a finished flow from the store (e.g. for b4, a dashboard, a recorded fixture). */
export async function loadStoredFlow(db: Db, flowId: string): Promise<StoredFlow | undefined> {
  const flow = await getFlow(db, flowId);
  if (!flow) return undefined;
  const series = await getSeries(db, flow.seriesId);
  if (!series) return undefined;
  const { results, errors } = await listStageResults(db, flowId);
  return {
    flowId,
    series,
    runs: results,
    ...(errors.length ? { errors } : {}),
    samples: await listSamples(db, flowId),
    generatedAt: flow.finishedAt ?? flow.createdAt,
  };
}

/** Rebuild a finished flow's report from the store (runs and raw samples). */
export async function loadFlowReport(db: Db, flowId: string): Promise<Report | undefined> {
  const f = await loadStoredFlow(db, flowId);
  return f ? reportOfStoredFlow(f) : undefined;
}
