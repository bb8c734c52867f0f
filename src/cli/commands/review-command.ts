import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Series } from "../../domain/series.ts";
import { Job, Queue, QueueEvents } from "bullmq";
import { benchSchema, type TreeConfig } from "../../config/schema.ts";
import { describeError, inputError } from "../../lib/errors.ts";
import { enqueueFlow } from "../../queue/enqueue-flow.ts";
import { planFlow } from "../../queue/plan-flow.ts";
import { readTreeTip } from "../../runner/workspace/read-tree-tip.ts";
import { ORCHESTRATOR_QUEUE } from "../../queue/queue-names.ts";
import { bullConnection } from "../../queue/redis-connection.ts";
import { quarantineMessage } from "../../store/quarantine-repository.ts";
import { saveSeries } from "../../store/series-repository.ts";
import type { ReportOutcome } from "../../workers/report-processor.ts";
import { startWorkers } from "../../workers/start-workers.ts";
import { applyBenchFlags, assertBenchPlanValid, type BenchFlags } from "../bench-overrides.ts";
import { pickTree } from "../../config/pick-tree.ts";
import { type GlobalFlags, loadConfigFromFlags, loggerFor, openServices } from "../context.ts";
import { createProgress } from "../progress.ts";
import { looksLikeMessageId, readSeriesById } from "../read-series-by-id.ts";
import { readSeriesInput } from "../read-series-input.ts";

export interface ReviewFlags extends GlobalFlags, BenchFlags {
  json?: boolean;
  tree?: string;
  treePath?: string;
  stages?: string;
  localRunner?: boolean;
  timeout?: string;
}

/** Patch series worth reviewing: the newest version of each thread. */
function pickSeries(all: readonly Series[], input: string): Series[] {
  const candidates = all.filter((s) => s.kind === "patch" && s.patches.length > 0);
  if (candidates.length === 0) throw inputError(`${input}: no patch series found (${all.length} series)`);
  const superseded = new Set(candidates.map((s) => s.previousVersion).filter(Boolean));
  return candidates.filter((s) => !superseded.has(s.cover?.messageId ?? s.patches[0]!.messageId));
}

/**
 * `patchbench review <path>`: ingest → series → flow → wait → print the
 * report. Runs an in-process orchestrator and (unless --no-local-runner) a
 * runner agent for the tree's pool.
 */
export async function reviewCommand(input: string, flags: ReviewFlags): Promise<number> {
  const config = loadConfigFromFlags(flags);
  const log = loggerFor(config);
  const progress = createProgress(process.stderr);
  progress.step(`reading ${input}`);
  const byId = !existsSync(input) && looksLikeMessageId(input);
  // Read a path before connecting anywhere: bad input fails fast and leaves nothing behind.
  const fromPath = byId ? null : await readSeriesInput(resolve(input));
  const fromPathSeries = fromPath ? pickSeries(fromPath.series, input) : null;
  const services = await openServices(config, log);
  let box: Awaited<ReturnType<typeof readSeriesInput>> | Awaited<ReturnType<typeof readSeriesById>>;
  let series: Series[];
  try {
    box = fromPath ?? (await readSeriesById(services.db, input));
    series = fromPathSeries ?? pickSeries(box.series, input);
  } catch (e) {
    progress.done();
    await services.close();
    throw e;
  }
  progress.step(`${series.length} series: ${series.map((s) => `"${s.title}" v${s.version}`).join(", ")}`);
  let workers: Awaited<ReturnType<typeof startWorkers>> | undefined;
  const queueEvents = new QueueEvents(ORCHESTRATOR_QUEUE, {
    connection: bullConnection(services.redis.options),
    prefix: config.global.redis.prefix,
  });
  const queue = new Queue(ORCHESTRATOR_QUEUE, {
    connection: bullConnection(services.redis.options),
    prefix: config.global.redis.prefix,
  });
  const stop = async () => {
    await workers?.close();
    await queueEvents.close();
    await queue.close();
    await services.close();
  };
  const onSignal = () => {
    progress.done("interrupted; unfinished stages resume on the next start");
    void stop().then(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    for (const q of box.quarantined) {
      await quarantineMessage(services.db, { messageId: q.messageId, reason: q.reason, source: input, raw: null });
    }
    const prepared = series.map((s) => {
      let tree = pickTree(s, config.trees, config.global.defaultTree, flags.tree);
      if (flags.treePath) tree = { ...tree, path: resolve(flags.treePath) };
      if (flags.stages) tree = { ...tree, stages: flags.stages.split(",") as TreeConfig["stages"] };
      const bench = benchSchema.parse(applyBenchFlags(tree.bench, flags));
      if (tree.stages.includes("bench")) assertBenchPlanValid(bench);
      return { s, tree, bench };
    });
    const planned = await Promise.all(
      prepared.map(async ({ s, tree, bench }) => {
        const treeTip = await readTreeTip(tree);
        return { s, tree, plan: planFlow({ series: s, raw: box.raw, tree, installationId: services.installationId, bench, treeTip }) };
      }),
    );
    await queueEvents.waitUntilReady();
    if (flags.localRunner !== false) {
      const pools = [...new Set(planned.map((p) => p.tree.pool))];
      workers = await startWorkers({ config, redis: services.redis.options, log, db: services.db, orchestrator: true, pool: pools[0] ?? null });
    } else {
      workers = await startWorkers({ config, redis: services.redis.options, log, db: services.db, orchestrator: true, pool: null });
    }
    const outcomes: ReportOutcome[] = [];
    for (const p of planned) {
      await saveSeries(services.db, p.s, box.raw);
      const { created, flowId } = await enqueueFlow({ db: services.db, flows: services.flows, log }, p.plan);
      progress.step(`${created ? "flow queued" : "flow already exists"}: ${flowId} (tree ${p.tree.name}, stages ${p.tree.stages.join(" -> ")})`);
      const job = await Job.fromId<unknown, ReportOutcome>(queue, `${flowId}-report`);
      if (!job) throw inputError(`the report job of ${flowId} is gone from the queue (older than its retention)`);
      const timeoutMs = flags.timeout ? Number(flags.timeout) * 1000 : 6 * 3600_000;
      const ticker = setInterval(async () => {
        const st = await job.getState().catch(() => "unknown");
        progress.step(`waiting for ${flowId}: report ${st}`);
      }, 15_000);
      try {
        const outcome = (await job.waitUntilFinished(queueEvents, timeoutMs)) as ReportOutcome;
        outcomes.push(outcome);
      } finally {
        clearInterval(ticker);
      }
    }
    progress.done(outcomes.map((o) => `report: ${o.emlPath}`).join("\n"));
    if (flags.json) process.stdout.write(`${JSON.stringify(outcomes, null, 2)}\n`);
    else for (const o of outcomes) process.stdout.write(o.text);
    return 0;
  } catch (e) {
    progress.done();
    throw new Error(describeError(e));
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await stop();
  }
}
