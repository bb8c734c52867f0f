import { hostname } from "node:os";
import { DelayedError, type Job, UnrecoverableError } from "bullmq";
import type { StageResult } from "../domain/results.ts";
import { describeError, errorCode } from "../lib/errors.ts";
import { type RunnerProcessRecord, runWithJobProcesses } from "../lib/job-processes.ts";
import type { Git } from "../lib/git.ts";
import type { Logger } from "../lib/logger.ts";
import type { Sandbox } from "../lib/sandbox.ts";
import { stageJobSchema } from "../queue/payloads.ts";
import { applySeries } from "../runner/apply/apply-series.ts";
import { benchSidesOf, runBenchStage } from "../runner/run-bench-stage.ts";
import { runBuildStage } from "../runner/run-build-stage.ts";
import { runSelftestsStage } from "../runner/run-selftests-stage.ts";
import { previousResults } from "./previous-results.ts";
import { adaptiveDecider } from "../stats/adaptive-decider.ts";

export interface StageProcessorDeps {
  log: Logger;
  git: Git;
  workDir: string;
  /** Journal of host settings changed by bench variants (restored after crashes). */
  journalPath: string;
  /** Where patch-controlled code runs (checkpatch.pl, make): runner.sandbox. */
  sandbox: Sandbox;
  /** True once the process is shutting down: aborted jobs go back to the queue untouched. */
  isShuttingDown: () => boolean;
  /** runner.jobTimeoutSec: the whole job's deadline (every attempt gets its own). */
  jobTimeoutSec: number;
  /** runner.flowTimeoutSec: the whole flow's deadline, from its first stage's start. Default: none. */
  flowTimeoutSec?: number;
  /** Where this runner records the process groups its jobs start (killed after a crash by the next runner). */
  processes: RunnerProcessRecord;
  /** How long a stage past its deadline may take to clean up (worktree, sysctls) before the runner moves on. */
  deadlineGraceMs?: number;
}

/** The summary of a stage that ran out of time (an infrastructure `error`, not the series' fault). */
export function deadlineSummary(jobTimeoutSec: number): string {
  return `stage exceeded runner.jobTimeoutSec=${jobTimeoutSec}`;
}

/** The summary of a stage cut short (or never started) by the flow's deadline. */
export function flowDeadlineSummary(flowTimeoutSec: number): string {
  return `flow exceeded runner.flowTimeoutSec=${flowTimeoutSec}`;
}

/**
 * Pure: how long this stage may run — the job's own deadline or what is left of the flow's,
 * counted from the earliest start among the flow's earlier stages (now for the first one).
 */
export function stageBudget(o: { nowMs: number; jobTimeoutSec: number; flowTimeoutSec?: number; earlierStarts: readonly string[] }): { ms: number; by: "job" | "flow" } {
  const job = o.jobTimeoutSec * 1000;
  if (o.flowTimeoutSec === undefined) return { ms: job, by: "job" };
  const starts = o.earlierStarts.map((t) => Date.parse(t)).filter(Number.isFinite);
  const first = Math.min(o.nowMs, ...starts);
  const left = o.flowTimeoutSec * 1000 - (o.nowMs - first);
  return left < job ? { ms: Math.max(0, left), by: "flow" } : { ms: job, by: "job" };
}

/** The runner agent's job processor: one stage of one flow. */
export function createStageProcessor(deps: StageProcessorDeps) {
  const runner = hostname();
  return async (job: Job, token?: string, signal?: AbortSignal): Promise<unknown> => {
    const parsed = stageJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid stage job data: ${parsed.error.message}`);
    const data = parsed.data;
    const log = deps.log.child({ flowId: data.flowId, stage: data.stage, jobId: job.id });
    const prev = await previousResults(job);
    const apply = prev.results.find((r) => r.stage === "apply");
    // Broken = nothing applied (checks may fail or warn on a series that applied: later stages still run).
    const applyData = apply?.data;
    const applyBroken = (apply && !applyData?.head) || prev.errors.some((e) => e.stage === "apply");
    // The job's deadline: aborts the stage's own work (every exec takes the
    // signal) and kills every process group the job started, whatever it is.
    const budget = stageBudget({
      nowMs: Date.now(),
      jobTimeoutSec: deps.jobTimeoutSec,
      ...(deps.flowTimeoutSec === undefined ? {} : { flowTimeoutSec: deps.flowTimeoutSec }),
      earlierStarts: prev.results.map((r) => r.startedAt),
    });
    const outOfTimeSummary = budget.by === "flow" ? flowDeadlineSummary(deps.flowTimeoutSec!) : deadlineSummary(deps.jobTimeoutSec);
    const procs = deps.processes.begin(String(job.id));
    const deadline = new AbortController();
    // Past the flow's deadline the stage does not start (runStage says so); no timer then.
    const timer = budget.ms <= 0 ? undefined : setTimeout(() => {
      deadline.abort();
      const killed = procs.killAll();
      log.warn({ jobTimeoutSec: deps.jobTimeoutSec, flowTimeoutSec: deps.flowTimeoutSec, by: budget.by, killed }, "stage ran out of time; its processes were killed");
    }, budget.ms);
    const stageSignal = signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal;
    const outOfTime = new Promise<"deadline">((r) => deadline.signal.addEventListener("abort", () => r("deadline"), { once: true }));
    const runStage = async (signal: AbortSignal): Promise<StageResult> => {
      if (budget.ms <= 0) {
        const now = new Date().toISOString();
        return { stage: data.stage, status: "error", summary: `not run: ${outOfTimeSummary}`, startedAt: now, endedAt: now, runner, data: null };
      } else if (data.refused) {
        // Over an ingest cap (domain/series-caps): nothing of the series is looked at.
        const now = new Date().toISOString();
        return { stage: data.stage, status: "skip", summary: data.refused, startedAt: now, endedAt: now, runner, data: null };
      } else if (data.stage !== "apply" && applyBroken) {
        const now = new Date().toISOString();
        return {
          stage: data.stage,
          status: "skip",
          summary: "skipped: the series did not apply",
          startedAt: now,
          endedAt: now,
          runner,
          data: null,
        };
      } else if (data.stage === "apply") {
        return await applySeries(data, { git: deps.git, log, workDir: deps.workDir, runner, sandbox: deps.sandbox, signal });
      } else if (data.stage === "build") {
        return await runBuildStage(data, {
          git: deps.git,
          log,
          workDir: deps.workDir,
          runner,
          apply: applyData ?? null,
          ccacheDir: process.env.CCACHE_DIR ?? `${deps.workDir}/cache/ccache`,
          sandbox: deps.sandbox,
          signal,
        });
      } else if (data.stage === "selftests") {
        const buildResult = prev.results.find((r) => r.stage === "build");
        const build = buildResult && buildResult.status !== "skip" ? buildResult.data : null;
        return await runSelftestsStage(data, {
          runner,
          cacheDir: `${deps.workDir}/cache`,
          signal,
          kernels: { build, apply: applyData ?? null, git: deps.git, workDir: deps.workDir, log, sandbox: deps.sandbox },
        });
      } else {
        const buildResult = prev.results.find((r) => r.stage === "build");
        const build = buildResult && buildResult.status !== "skip" ? buildResult.data : null;
        const kernelSides = benchSidesOf(data.bench, build) === "kernels";
        const sideNames: [string, string] = kernelSides ? ["base", "candidate"] : [data.bench.variants[0]!.name, data.bench.variants[1]!.name];
        const armPairs = kernelSides ? data.bench.arms.map((a) => ["candidate", a.name] as const) : [];
        return await runBenchStage(data, {
          log,
          runner,
          journalPath: deps.journalPath,
          workDir: deps.workDir,
          build,
          sandbox: deps.sandbox,
          signal,
          ...(data.bench.maxRounds > data.bench.rounds
            ? { decide: adaptiveDecider(sideNames, data.bench.maxRounds, armPairs) }
            : {}),
        });
      }
    };
    let result: StageResult;
    try {
      const run = runWithJobProcesses(procs, () => runStage(stageSignal));
      const raced = await Promise.race([run, outOfTime]);
      if (raced === "deadline") {
        // Give its cleanup (worktree removal, sysctl restore) a moment, then report it; no retry: it would run out again.
        let grace: NodeJS.Timeout | undefined;
        await Promise.race([run.catch(() => undefined), new Promise((r) => (grace = setTimeout(r, deps.deadlineGraceMs ?? 30_000)))]);
        clearTimeout(grace);
        const now = new Date().toISOString();
        result = { stage: data.stage, status: "error", summary: outOfTimeSummary, startedAt: now, endedAt: now, runner, data: null };
      } else result = raced;
    } catch (e) {
      if (signal?.aborted && deps.isShuttingDown()) {
        // Shutdown: hand the job back without spending an attempt.
        log.warn("stage interrupted by shutdown; it will run again on restart");
        await job.moveToDelayed(Date.now() + 1000, token);
        throw new DelayedError();
      }
      const now = new Date().toISOString();
      if (deadline.signal.aborted) {
        result = { stage: data.stage, status: "error", summary: outOfTimeSummary, startedAt: now, endedAt: now, runner, data: null };
      } else {
        const code = errorCode(e);
        const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        if (code !== "config" && code !== "input" && !lastAttempt) {
          log.warn({ err: e, code, attempt: job.attemptsMade + 1 }, "stage failed; retrying with backoff");
          throw e;
        }
        // Final: the stage becomes an `error` result in the chain, so the
        // report keeps the earlier stages' results and says what broke.
        log.error({ err: e, code }, "stage failed");
        result = { stage: data.stage, status: "error", summary: describeError(e), startedAt: now, endedAt: now, runner, data: null };
      }
    } finally {
      clearTimeout(timer);
      const leftovers = procs.end();
      if (leftovers.length) log.warn({ killed: leftovers }, "killed processes the stage left running");
    }
    if (signal?.aborted && deps.isShuttingDown()) {
      log.warn("stage interrupted by shutdown; it will run again on restart");
      await job.moveToDelayed(Date.now() + 1000, token);
      throw new DelayedError();
    }
    log.info({ status: result.status, summary: result.summary }, "stage finished");
    return { results: [...prev.results, result], errors: prev.errors };
  };
}
