import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { type Series, seriesRef } from "../../domain/series.ts";
import { Job, Queue, QueueEvents } from "bullmq";
import { benchSchema } from "../../config/schema.ts";
import { inputError } from "../../lib/errors.ts";
import { enqueueFlow } from "../../queue/enqueue-flow.ts";
import { planFlow } from "../../queue/plan-flow.ts";
import { readTreeTip } from "../../runner/workspace/read-tree-tip.ts";
import { ORCHESTRATOR_QUEUE, poolQueue } from "../../queue/queue-names.ts";
import { bullConnection } from "../../queue/redis-connection.ts";
import { benchPlanOf, estimatePlanSeconds } from "../../domain/bench-plan.ts";
import { openStore } from "../../store/open-store.ts";
import { quarantineMessage } from "../../store/quarantine-repository.ts";
import { saveSeries } from "../../store/series-repository.ts";
import { getFlow } from "../../store/flow-repository.ts";
import type { ReportOutcome } from "../../workers/report-processor.ts";
import { startWorkers } from "../../workers/start-workers.ts";
import { applyBenchFlags, assertBenchPlanValid, type BenchFlags } from "../bench-overrides.ts";
import { pickTree } from "../../config/pick-tree.ts";
import { type GlobalFlags, loadConfigFromFlags, loggerFor, openServices } from "../context.ts";
import { describeFlowProgress, type StageProgress } from "../describe-flow-progress.ts";
import { describeNonSeries } from "../describe-input.ts";
import { watchInterrupts, whenAborted } from "../interrupt.ts";
import { createProgress } from "../progress.ts";
import { looksLikeMessageId, readSeriesById } from "../read-series-by-id.ts";
import { readSeriesInput } from "../read-series-input.ts";
import { type CheckedReviewFlags, checkReviewFlags } from "../review-flags.ts";
import { reportJobId, stageJobId } from "../../queue/job-ids.ts";

export interface ReviewFlags extends GlobalFlags, BenchFlags {
  json?: boolean;
  tree?: string;
  treePath?: string;
  stages?: string;
  localRunner?: boolean;
  timeout?: string;
  rerun?: boolean;
}

/** Patch series worth reviewing: the newest version of each thread. */
function pickSeries(all: readonly Series[]): Series[] {
  const candidates = all.filter((s) => s.kind === "patch" && s.patches.length > 0);
  const superseded = new Set(candidates.map((s) => s.previousVersion).filter(Boolean));
  return candidates.filter((s) => !superseded.has(seriesRef(s) ?? ""));
}

/** Mail a review could not use goes where `patchbench quarantine list` looks: the store. */
async function quarantineAll(storePath: string, source: string, items: readonly { messageId: string | null; reason: string }[]): Promise<void> {
  if (items.length === 0) return;
  const db = await openStore(storePath);
  try {
    for (const q of items) await quarantineMessage(db, { messageId: q.messageId, reason: q.reason, source, raw: null });
  } finally {
    await db.destroy();
  }
}

/**
 * `patchbench review <path>`: ingest → series → flow → wait → print the
 * report. Runs an in-process orchestrator and (unless --no-local-runner) a
 * runner agent for the tree's pool. SIGINT/SIGTERM or a closed output pipe
 * stop it within seconds (src/cli/interrupt.ts): the workers close, a running
 * stage goes back to the queue without spending a retry, a private
 * redis-server stops; the flow resumes on the next `review` of the series.
 */
export async function reviewCommand(inputs: readonly string[], flags: ReviewFlags): Promise<number> {
  const checked = checkReviewFlags(flags);
  const config = loadConfigFromFlags(flags);
  const log = loggerFor(config);
  const progress = createProgress(process.stderr);
  const interrupt = watchInterrupts({
    onInterrupt: (why) =>
      progress.done(
        why === "EPIPE" ? undefined : "patchbench: interrupted; stopping (a running stage goes back to the queue and resumes on the next `review` of this series; a second signal exits at once)",
      ),
  });
  try {
    return await review(inputs, flags, { config, log, progress, checked, signal: interrupt.signal, interruptedCode: () => interrupt.exitCode });
  } finally {
    interrupt.dispose();
  }
}

async function review(
  inputs: readonly string[],
  flags: ReviewFlags,
  ctx: {
    config: ReturnType<typeof loadConfigFromFlags>;
    log: ReturnType<typeof loggerFor>;
    progress: ReturnType<typeof createProgress>;
    checked: CheckedReviewFlags;
    signal: AbortSignal;
    interruptedCode: () => number;
  },
): Promise<number> {
  const { config, log, progress, signal, checked } = ctx;
  const input = inputs.join(" ");
  progress.step(`reading ${input}`);
  const byId = inputs.length === 1 && !existsSync(input) && looksLikeMessageId(input);
  // Read paths before connecting anywhere: bad input fails fast and leaves nothing behind but its quarantine.
  const fromPath = byId ? null : await readSeriesInput(inputs.map((p) => resolve(p)));
  if (signal.aborted) return ctx.interruptedCode();
  if (fromPath && pickSeries(fromPath.series).length === 0) {
    progress.done();
    await quarantineAll(config.paths.store, input, fromPath.quarantined);
    const stored = fromPath.quarantined.length > 0 ? ` (${fromPath.quarantined.length} quarantined: \`patchbench quarantine list\`)` : "";
    throw inputError(`${input}: ${describeNonSeries(fromPath)}${stored}`);
  }
  const services = await openServices(config, log);
  if (signal.aborted) {
    await services.close();
    return ctx.interruptedCode();
  }
  let box: Awaited<ReturnType<typeof readSeriesInput>> | Awaited<ReturnType<typeof readSeriesById>>;
  let series: Series[];
  try {
    box = fromPath ?? (await readSeriesById(services.db, input));
    series = pickSeries(box.series);
    if (series.length === 0) throw inputError(`${input}: no patch series among the stored mail of this thread`);
  } catch (e) {
    progress.done();
    await services.close();
    throw e;
  }
  progress.step(`${series.length} series: ${series.map((s) => `"${s.title}" v${s.version}${s.syntheticMessageIds ? " (no Message-IDs: synthetic ids)" : ""}`).join(", ")}`);
  let workers: Awaited<ReturnType<typeof startWorkers>> | undefined;
  const connection = () => ({ connection: bullConnection(services.redis.options), prefix: config.global.redis.prefix });
  const queueEvents = new QueueEvents(ORCHESTRATOR_QUEUE, connection());
  const queue = new Queue(ORCHESTRATOR_QUEUE, connection());
  const poolQueues = new Map<string, Queue>();
  const stop = async () => {
    await workers?.close();
    await queueEvents.close();
    await queue.close();
    for (const q of poolQueues.values()) await q.close();
    await services.close();
  };
  try {
    for (const q of box.quarantined) {
      await quarantineMessage(services.db, { messageId: q.messageId, reason: q.reason, source: input, raw: null });
    }
    if (box.quarantined.length > 0) {
      progress.step(`quarantined ${box.quarantined.length} mail(s) that are not part of a series (${box.quarantined[0]!.reason}${box.quarantined.length > 1 ? ", …" : ""}): \`patchbench quarantine list\``);
    }
    const rerun = flags.rerun ? Date.now().toString(36) : undefined;
    const prepared = series.map((s) => {
      let tree = pickTree(s, config.trees, config.global.defaultTree, flags.tree);
      if (flags.treePath) tree = { ...tree, path: resolve(flags.treePath) };
      if (checked.stages) tree = { ...tree, stages: checked.stages };
      const bench = benchSchema.parse(applyBenchFlags(tree.bench, flags));
      if (tree.stages.includes("bench")) assertBenchPlanValid(bench);
      return { s, tree, bench };
    });
    const planned = await Promise.all(
      prepared.map(async ({ s, tree, bench }) => {
        const treeTip = await readTreeTip(tree);
        const planOf = (rerun?: string) =>
          planFlow({
            series: s,
            raw: box.raw,
            tree,
            installationId: services.installationId,
            bench,
            treeTip,
            caps: config.global.ingest,
            ...(flags.treePath ? { origin: tree.path! } : {}),
            ...(rerun ? { rerun } : {}),
          });
        // --rerun makes a fresh flow only when this plan ran before; a first run keeps the plain id.
        const first = planOf();
        const plan = rerun && (await getFlow(services.db, first.flowId)) ? planOf(rerun) : first;
        return { s, tree, bench, plan };
      }),
    );
    await queueEvents.waitUntilReady();
    const pools = [...new Set(planned.map((p) => p.tree.pool))];
    workers = await startWorkers({
      config,
      redis: services.redis.options,
      log,
      db: services.db,
      orchestrator: true,
      pool: flags.localRunner !== false ? (pools[0] ?? null) : null,
    });
    const outcomes: (ReportOutcome & { tree: { name: string; origin: string; branch: string } })[] = [];
    for (const p of planned) {
      if (signal.aborted) break;
      await saveSeries(services.db, p.s, box.raw);
      const { created, flowId } = await enqueueFlow({ db: services.db, flows: services.flows, log }, p.plan);
      const origin = p.tree.path ?? p.tree.url;
      const job = await Job.fromId<unknown, ReportOutcome>(queue, reportJobId(flowId));
      if (!job) throw inputError(`the report job of ${flowId} is gone from the queue (older than its retention)`, "run again with --rerun");
      // An existing flow is either done (its report is printed again) or one an interrupted review left queued.
      const state = created
        ? "flow queued"
        : (await job.isCompleted())
          ? "flow already exists (reviewed before; --rerun runs it again)"
          : "flow already exists (an earlier review stopped before its report; resuming it)";
      progress.step(`${state}: ${flowId} - tree ${p.tree.name} from ${origin} (branch ${p.tree.branch}), stages ${p.tree.stages.join(" -> ")}`);
      let poolQ = poolQueues.get(p.tree.pool);
      if (!poolQ) {
        poolQ = new Queue(poolQueue(p.tree.pool), connection());
        poolQueues.set(p.tree.pool, poolQ);
      }
      const benchPlan = benchPlanOf(p.bench, { adaptive: p.bench.maxRounds > p.bench.rounds });
      const bench = p.tree.stages.includes("bench")
        ? { cells: benchPlan.cells.length, estimateSec: estimatePlanSeconds({ ...benchPlan, maxRounds: benchPlan.rounds }, { settleMs: 200 }), adaptive: p.bench.maxRounds > p.bench.rounds }
        : null;
      let last = "";
      const tick = async () => {
        const stages: StageProgress[] = [];
        for (const stage of p.tree.stages) {
          const j = await Job.fromId(poolQ, stageJobId(flowId, stage)).catch(() => undefined);
          const state = j ? await j.getState().catch(() => "unknown") : "unknown";
          stages.push({ stage, state, startedAt: j?.processedOn ?? null, finishedAt: j?.finishedOn ?? null });
        }
        const line = describeFlowProgress({ stages, pool: p.tree.pool, bench, now: Date.now() });
        // A new stage or state is a new line; a changed time left only redraws.
        const key = line.replace(/\d+ (h|min|s)\b/g, "");
        progress.update(line, key !== last);
        last = key;
      };
      const ticker = setInterval(() => void tick().catch(() => {}), 2000);
      try {
        const done = await Promise.race([job.waitUntilFinished(queueEvents, checked.timeoutMs) as Promise<ReportOutcome>, whenAborted(signal)]);
        if (done === "aborted") break;
        progress.update(`${p.tree.stages.length}/${p.tree.stages.length} stages done; report ${flowId} written`, true);
        outcomes.push({ ...done, tree: { name: p.tree.name, origin, branch: p.tree.branch } });
      } finally {
        clearInterval(ticker);
      }
    }
    if (signal.aborted) return ctx.interruptedCode();
    progress.done(outcomes.map((o) => `report: ${o.emlPath}`).join("\n"));
    if (flags.json) process.stdout.write(`${JSON.stringify(outcomes, null, 2)}\n`);
    else for (const o of outcomes) process.stdout.write(o.text);
    return 0;
  } catch (e) {
    progress.done();
    if (signal.aborted) return ctx.interruptedCode();
    throw e;
  } finally {
    await stop();
  }
}
