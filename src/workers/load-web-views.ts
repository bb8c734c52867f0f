import { benchEstimatorFor } from "../commands/bench-estimator.ts";
import type { KernelCosts } from "../domain/flow-estimate.ts";
import type { Db } from "../store/open-store.ts";
import { getFlow, listFlowsOfSeries, listRecentErrorFlows, listUnfinishedFlowHeads } from "../store/flow-repository.ts";
import { listSeriesPage } from "../store/list-series-page.ts";
import { listSeriesVersions } from "../store/list-series-versions.ts";
import { listSamples, listStageResults, listVerdicts } from "../store/result-repository.ts";
import { listQuarantinePage } from "../store/quarantine-repository.ts";
import { getSeries } from "../store/series-repository.ts";
import { buildRunView, buildSeriesListView, buildSeriesView, type StoredVersion } from "../web/build-web-views.ts";
import { buildQueueView } from "../web/build-queue-view.ts";
import { type RunLog, runLogsOf } from "../web/run-logs.ts";
import { type ArtifactLog, listArtifactLogs, logEndsWith, openArtifactLog } from "./artifact-log-files.ts";
import { type ListQuery, PAGE_SIZE } from "../web/parse-web-request.ts";
import type { QuarantineView, QueueState, QueueView, RunView, SeriesListView, SeriesView } from "../web/web-view-schemas.ts";

/** Each page's data, read through the store's repositories (no SQL here). */
export async function loadSeriesList(db: Db, query: ListQuery): Promise<SeriesListView> {
  const filter = {
    ...(query.tree !== undefined ? { tree: query.tree } : {}),
    ...(query.list !== undefined ? { list: query.list } : {}),
    ...(query.state !== undefined ? { state: query.state } : {}),
    ...(query.verdict !== undefined ? { verdict: query.verdict } : {}),
    ...(query.q !== undefined ? { search: query.q } : {}),
    ...(query.author !== undefined ? { author: query.author } : {}),
    ...(query["has-regression"] !== undefined ? { hasRegression: query["has-regression"] === "yes" } : {}),
  };
  const { total, rows } = await listSeriesPage(db, filter, { offset: query.offset, limit: PAGE_SIZE });
  const { offset: _offset, ...shown } = query;
  return buildSeriesListView({ total, offset: query.offset, limit: PAGE_SIZE, filter: shown, rows });
}

export async function loadSeriesView(db: Db, id: string): Promise<SeriesView | undefined> {
  const chain = await listSeriesVersions(db, id);
  const series = chain.find((s) => s.id === id);
  if (!series) return undefined;
  const versions: StoredVersion[] = [];
  for (const s of chain) {
    const flowId = (await listFlowsOfSeries(db, s.id)).at(-1);
    const flow = flowId ? await getFlow(db, flowId) : undefined;
    if (!flow) {
      versions.push({ series: s, flow: null, results: [], verdicts: [] });
      continue;
    }
    const { results } = await listStageResults(db, flow.id);
    versions.push({ series: s, flow, results, verdicts: await listVerdicts(db, flow.id) });
  }
  return buildSeriesView(series, versions);
}

/** `artifactsDir`: this host's runner artifacts (`<workDir>/artifacts`), where whole logs are looked for. */
export async function loadRunView(db: Db, id: string, artifactsDir: string | null = null): Promise<RunView | undefined> {
  const flow = await getFlow(db, id);
  if (!flow) return undefined;
  const { results, errors } = await listStageResults(db, id);
  const files = artifactsDir ? await listArtifactLogs(artifactsDir, id) : [];
  const whole = new Set<string>();
  for (const l of runLogsOf(results)) {
    if (!artifactsDir || !l.file || !files.some((f) => f.name === l.file)) continue;
    const log = await openStoredLogFile(artifactsDir, id, l);
    if (!log) continue;
    whole.add(l.name);
    await log.handle.close();
  }
  return buildRunView({
    logFiles: { files, whole },
    flow,
    series: await getSeries(db, flow.seriesId),
    results,
    errors,
    verdicts: await listVerdicts(db, id),
    samples: await listSamples(db, id),
    apiBase: `/api/runs/${encodeURIComponent(id)}`,
  });
}

/** A stored log's whole file in the flow's artifacts, if it is there and is that log's (a console that ends with its stored tail). */
async function openStoredLogFile(artifactsDir: string, id: string, l: RunLog): Promise<ArtifactLog | null> {
  const log = l.file ? await openArtifactLog(artifactsDir, id, l.file) : null;
  if (!log || l.tail === null || (await logEndsWith(log, l.tail))) return log;
  await log.handle.close();
  return null;
}

/** A log to serve: the whole file from this host's artifacts, or the stored last lines. */
export type RunLogAnswer = { kind: "file"; log: ArtifactLog } | { kind: "tail"; log: RunLog };

/**
 * One log of a flow by its name: the whole file when this host keeps the flow's artifacts, else the
 * stored tail of that name; undefined: no such flow, or neither.
 */
export async function loadRunLog(db: Db, id: string, name: string, artifactsDir: string | null = null): Promise<RunLogAnswer | undefined> {
  if (!(await getFlow(db, id))) return undefined;
  const stored = runLogsOf((await listStageResults(db, id)).results).find((l) => l.name === name);
  if (artifactsDir) {
    const log = stored ? await openStoredLogFile(artifactsDir, id, stored) : await openArtifactLog(artifactsDir, id, name);
    if (log) return { kind: "file", log };
  }
  return stored ? { kind: "tail", log: stored } : undefined;
}

/** Unfinished flows shown at most: the page stays small however long the backlog. */
const MAX_UNFINISHED = 500;

/**
 * Unfinished flows estimated at most: every flow waits behind all those before it, so all of them
 * are read (ids, tree, plan), not only those shown; beyond this a flow has no estimated start.
 */
export const MAX_ESTIMATED_FLOWS = 20_000;

/** Recent failures read from the store (the queue gives its own, MAX_FAILURES per pool). */
const MAX_ERROR_FLOWS = 20;

/**
 * The unfinished flows with their estimated starts and the recent failures: the store's part
 * (plans, kernel costs per tree as `/bench` estimates them, flows that ended in error) read here,
 * put together with the queue state by buildQueueView.
 */
async function estimateQueue(db: Db, state: QueueState, now: Date): Promise<QueueView> {
  const unfinished = await listUnfinishedFlowHeads(db, MAX_ESTIMATED_FLOWS);
  const queued = new Set(state.stageJobs.map((j) => j.flowId));
  const costs = new Map<string, KernelCosts>();
  for (const tree of new Set(unfinished.filter((f) => queued.has(f.id)).map((f) => f.tree))) costs.set(tree, (await benchEstimatorFor(db, tree)).costs);
  return buildQueueView({ state, unfinished, costs, errorFlows: await listRecentErrorFlows(db, MAX_ERROR_FLOWS), now });
}

/** The queue page: the first MAX_UNFINISHED unfinished flows, each estimated behind all before it. */
export async function loadQueueView(db: Db, state: QueueState, now = new Date(), shownAtMost = MAX_UNFINISHED): Promise<QueueView> {
  const view = await estimateQueue(db, state, now);
  const unfinished = view.unfinished.slice(0, shownAtMost);
  // The stage jobs of the flows shown: the whole backlog's were read for the estimate, not for the page.
  const shown = new Set(unfinished.map((f) => f.id));
  return { ...view, state: { ...view.state, stageJobs: view.state.stageJobs.filter((j) => shown.has(j.flowId)) }, unfinished };
}

/**
 * One flow's row of the queue page (place in its pool, runner time, estimated start): what a
 * `/bench` acknowledgement says, so the comment and the page never disagree. Null: not unfinished.
 */
export async function loadFlowStart(db: Db, state: QueueState, flowId: string, now = new Date()): Promise<QueueView["unfinished"][number] | null> {
  return (await estimateQueue(db, state, now)).unfinished.find((f) => f.id === flowId) ?? null;
}

/** Quarantined mails shown at most (newest first): `patchbench quarantine list` has them all. */
const MAX_QUARANTINE = 500;

export async function loadQuarantineView(db: Db): Promise<QuarantineView> {
  return { limit: MAX_QUARANTINE, items: await listQuarantinePage(db, MAX_QUARANTINE) };
}

