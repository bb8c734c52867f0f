import { hostname } from "node:os";
import { DelayedError, type Job, UnrecoverableError } from "bullmq";
import type { ApplyData, StageResult } from "../domain/results.ts";
import { describeError, errorCode } from "../lib/errors.ts";
import type { Git } from "../lib/git.ts";
import type { Logger } from "../lib/logger.ts";
import { stageJobSchema } from "../queue/payloads.ts";
import { applySeries } from "../runner/apply/apply-series.ts";
import { runBenchStage } from "../runner/run-bench-stage.ts";
import { runBuildStage } from "../runner/run-build-stage.ts";
import { runSelftestsStage } from "../runner/run-selftests-stage.ts";
import { previousResults } from "./previous-results.ts";
import type { BenchSample } from "../domain/bench.ts";
import { analyzeMatrix } from "../stats/analyze-matrix.ts";
import { nextRoundsDecision } from "../stats/next-rounds-decision.ts";
import { samplesToCells } from "../stats/samples-to-cells.ts";

export interface StageProcessorDeps {
  log: Logger;
  git: Git;
  workDir: string;
  /** Journal of host settings changed by bench variants (restored after crashes). */
  journalPath: string;
  /** True once the process is shutting down: aborted jobs go back to the queue untouched. */
  isShuttingDown: () => boolean;
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
    const applyData = apply?.data as ApplyData | null | undefined;
    const applyBroken = (apply && !applyData?.head) || prev.errors.some((e) => e.stage === "apply");
    let result: StageResult;
    try {
      if (data.stage !== "apply" && applyBroken) {
        const now = new Date().toISOString();
        result = {
          stage: data.stage,
          status: "skip",
          summary: "skipped: the series did not apply",
          startedAt: now,
          endedAt: now,
          runner,
          data: null,
        };
      } else if (data.stage === "apply") {
        result = await applySeries(data, { git: deps.git, log, workDir: deps.workDir, runner, ...(signal ? { signal } : {}) });
      } else if (data.stage === "build") {
        result = await runBuildStage(data, {
          git: deps.git,
          log,
          workDir: deps.workDir,
          runner,
          apply: applyData ?? null,
          ccacheDir: process.env.CCACHE_DIR ?? null,
          ...(signal ? { signal } : {}),
        });
      } else if (data.stage === "selftests") {
        result = await runSelftestsStage(data, { runner, cacheDir: `${deps.workDir}/cache`, ...(signal ? { signal } : {}) });
      } else {
        result = await runBenchStage(data, {
          log,
          runner,
          journalPath: deps.journalPath,
          ...(signal ? { signal } : {}),
          ...(data.bench.maxRounds > data.bench.rounds
            ? { decide: adaptiveDecider([data.bench.variants[0]!.name, data.bench.variants[1]!.name], data.bench.maxRounds) }
            : {}),
        });
      }
    } catch (e) {
      if (signal?.aborted && deps.isShuttingDown()) {
        // Shutdown: hand the job back without spending an attempt.
        log.warn("stage interrupted by shutdown; it will run again on restart");
        await job.moveToDelayed(Date.now() + 1000, token);
        throw new DelayedError();
      }
      const code = errorCode(e);
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (code !== "config" && code !== "input" && !lastAttempt) {
        log.warn({ err: e, code, attempt: job.attemptsMade + 1 }, "stage failed; retrying with backoff");
        throw e;
      }
      // Final: the stage becomes an `error` result in the chain, so the
      // report keeps the earlier stages' results and says what broke.
      log.error({ err: e, code }, "stage failed");
      const now = new Date().toISOString();
      result = { stage: data.stage, status: "error", summary: describeError(e), startedAt: now, endedAt: now, runner, data: null };
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

/** The adaptive-rounds decision a runner asks after each extra pair of rounds. */
export function adaptiveDecider(variants: [string, string], maxRounds: number) {
  return (samples: readonly BenchSample[]): "stop" | "continue" => {
    const { inputs } = samplesToCells(samples, variants);
    const analysis = analyzeMatrix(inputs, { bootstrapResamples: 0, noiseFrom: "pairs" });
    const rounds = Math.max(0, ...samples.map((s) => s.round + 1));
    return nextRoundsDecision(analysis.cells, { roundsSoFar: rounds, maxRounds, step: 2 }).continue ? "continue" : "stop";
  };
}
