import type { FlowJob } from "bullmq";
import type { TreeConfig } from "../config/schema.ts";
import { canonicalJson, stableId } from "../domain/ids.ts";
import { type SeriesCaps, seriesCapProblem } from "../domain/series-caps.ts";
import type { RawMails, Series } from "../domain/series.ts";
import type { ReportJob, StageJob } from "./payloads.ts";
import { ORCHESTRATOR_QUEUE, poolQueue } from "./queue-names.ts";
import { reportJobId, stageJobId } from "./job-ids.ts";

export interface FlowPlan {
  flowId: string;
  seriesId: string;
  tree: string;
  base: string | null;
  planJson: string;
  job: FlowJob;
}

/** Retries for infrastructure errors; results (fail) are not retried. */
const STAGE_ATTEMPTS = 3;

/**
 * Pure: one series version → one BullMQ flow. The report job is the parent;
 * stages form a chain beneath it (the deepest child runs first), so apply
 * runs before selftests before bench, and the report runs once at the end.
 * Ids are deterministic: the same series, base and plan give the same flow.
 */
export function planFlow(input: {
  series: Series;
  raw: RawMails;
  tree: TreeConfig;
  /** Distinguishes installations sharing one Redis. */
  installationId: string;
  /** Overrides of the tree's bench plan (e.g. from /bench or the CLI). */
  bench?: TreeConfig["bench"];
  /** The tree's branch tip at ingest time, when the orchestrator has a mirror (the runner records its own otherwise). */
  treeTip?: string | null;
  /** ingest.maxPatches / ingest.maxSeriesBytes: over them the flow only reports why it did not run. */
  caps: SeriesCaps;
  /**
   * The tree's origin when it is not the configured one (`review
   * --tree-path`): part of the plan, so another origin is another flow.
   */
  origin?: string;
  /** A fresh flow of the same series and plan (`review --rerun`): the flow id gets the suffix `-rerun-<rerun>`. */
  rerun?: string;
  /** A tree tip against the previous measured tip (the series is its stand-in, tipSeries): its commits, not patches. */
  tip?: { base: string; head: string };
}): FlowPlan {
  const { series, tree } = input;
  const bench = input.bench ?? tree.bench;
  const raws = series.patches.map((p) => {
    const raw = input.raw.get(p.messageId);
    if (!raw) throw new Error(`raw mail of patch ${p.index} (${p.messageId}) is missing`);
    return raw;
  });
  const refused = seriesCapProblem(
    { patches: Math.max(series.patches.length, series.total), bytes: raws.reduce((n, r) => n + r.byteLength, 0) },
    input.caps,
  );
  const patches = refused
    ? []
    : series.patches.map((p, i) => ({ index: p.index, subject: p.subject, rawBase64: Buffer.from(raws[i]!).toString("base64") }));
  // A refused series gets one stage, which reports the refusal; nothing else is queued for it.
  const stages = refused ? tree.stages.slice(0, 1) : tree.stages;
  // A refusal is part of the plan: raising a cap later plans the series again, as a new flow.
  const kernelSelftests = stages.includes("build") && stages.includes("selftests");
  const plan = {
    stages,
    suites: tree.suites,
    // Only where it is used (kernels built and selftests run), so other trees' flow ids stay as they were.
    ...(kernelSelftests ? { kselftests: tree.kselftests } : {}),
    ...(kernelSelftests ? { testProgs: tree.testProgs } : {}),
    bench,
    tree: tree.name,
    branch: tree.branch,
    ...(refused ? { refused } : {}),
    ...(input.origin ? { origin: input.origin } : {}),
    ...(input.tip ? { tip: input.tip } : {}),
  };
  const planJson = canonicalJson(plan);
  const stable = stableId("flow", input.installationId, series.id, series.baseCommit ?? "", planJson);
  const flowId = input.rerun ? `${stable}-rerun-${input.rerun}` : stable;
  const base: Omit<StageJob, "stage"> = {
    flowId,
    seriesId: series.id,
    tree: {
      name: tree.name,
      url: tree.url,
      path: tree.path,
      branch: tree.branch,
      allowBinary: tree.allowBinary,
      allowSymlinks: tree.allowSymlinks,
    },
    baseCommit: series.baseCommit,
    patches,
    suites: tree.suites,
    kselftests: tree.kselftests,
    testProgs: kernelSelftests ? tree.testProgs : null,
    bench,
    treeTip: input.treeTip ?? null,
    unsent: series.syntheticMessageIds === true,
    checks: tree.checks,
    build: tree.build,
    boot: tree.boot,
    refused,
    tip: input.tip ?? null,
  };
  let chain: FlowJob | undefined;
  for (const stage of stages) {
    const data: StageJob = { ...base, stage };
    const job: FlowJob = {
      name: stage,
      queueName: poolQueue(tree.pool),
      data,
      opts: {
        jobId: stageJobId(flowId, stage),
        attempts: STAGE_ATTEMPTS,
        backoff: { type: "exponential", delay: 5000 },
        // An infrastructure failure must not block the report: it says "error".
        ignoreDependencyOnFailure: true,
        removeOnComplete: { age: 7 * 24 * 3600 },
        removeOnFail: { age: 30 * 24 * 3600 },
      },
      ...(chain ? { children: [chain] } : {}),
    };
    chain = job;
  }
  const reportData: ReportJob = { flowId, seriesId: series.id, tree: tree.name };
  const job: FlowJob = {
    name: "report",
    queueName: ORCHESTRATOR_QUEUE,
    data: reportData,
    opts: {
      jobId: reportJobId(flowId),
      attempts: 5,
      backoff: { type: "exponential", delay: 2000 },
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: { age: 30 * 24 * 3600 },
    },
    ...(chain ? { children: [chain] } : {}),
  };
  return { flowId, seriesId: series.id, tree: tree.name, base: series.baseCommit, planJson, job };
}
