import { mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { Worker } from "bullmq";
import type { RedisOptions } from "ioredis";
import type { Config } from "../config/schema.ts";
import { git } from "../lib/git.ts";
import { killOrphanedJobProcesses, RunnerProcessRecord } from "../lib/job-processes.ts";
import type { Logger } from "../lib/logger.ts";
import { ORCHESTRATOR_QUEUE, poolQueue } from "../queue/queue-names.ts";
import { bullConnection, newRedis } from "../queue/redis-connection.ts";
import { restoreFromJournal, restoreHostEntriesSync } from "../runner/bench/host-settings.ts";
import { cleanupStale } from "../runner/bench/topology.ts";
import { pruneStaleWorktrees } from "../runner/workspace/job-worktree.ts";
import { startMirrorSchedule } from "../runner/workspace/mirror-schedule.ts";
import { collectRunnerProfile, startHeartbeat } from "../runner/registry/runner-heartbeat.ts";
import type { RunnerRecord } from "../runner/registry/runner-record.ts";
import type { MachineProfile } from "../runner/bench/machine-profile.ts";
import { TOOL } from "./build-flow-report.ts";
import type { Db } from "../store/open-store.ts";
import { createReportProcessor } from "./report-processor.ts";
import { waitingForStore } from "./wait-for-store.ts";
import { createRunnerSandbox } from "./create-runner-sandbox.ts";
import { createStageProcessor } from "./stage-processor.ts";
import { pruneArtifacts } from "../runner/workspace/prune-artifacts.ts";

export interface Workers {
  close(): Promise<void>;
}

/**
 * Start the workers of this process: the orchestrator (report jobs, needs
 * the store) and/or a runner agent for one pool. Closing cancels running
 * stages, which go back to the queue untouched and resume on restart.
 */
export async function startWorkers(opts: {
  config: Config;
  redis: RedisOptions;
  log: Logger;
  db?: Db;
  orchestrator: boolean;
  pool: string | null;
  /** `runner doctor`'s counts at start, for the runner's registry entry (null: not run). */
  doctor?: RunnerRecord["doctor"];
  /** The machine profile the doctor read at start (read here otherwise). */
  machineProfile?: MachineProfile;
}): Promise<Workers> {
  const { config, log } = opts;
  const connection = bullConnection(opts.redis);
  const prefix = config.global.redis.prefix;
  const workers: Worker[] = [];
  let shuttingDown = false;
  const stops: (() => void)[] = [];
  const closeLast: (() => void)[] = [];
  const closeAsync: (() => Promise<void>)[] = [];
  /** The stage this runner is processing, if any (close waits for it without a deadline: it has its own). */
  let active: Promise<unknown> | null = null;

  if (opts.pool) {
    // First what a killed runner's jobs left running (they may still write
    // into worktrees, hold namespaces or change sysctls), then its leftovers.
    const orphans = await killOrphanedJobProcesses(config.paths.workDir);
    if (orphans.runners.length) log.warn(orphans, "killed processes left running by jobs of a dead runner");
    const processes = new RunnerProcessRecord(config.paths.workDir);
    if (processes.lastError) log.warn({ err: processes.lastError }, "cannot record job process groups; a crash of this runner may leave them running");
    closeLast.push(() => processes.close());
    const journalPath = join(config.paths.workDir, "host-settings.journal");
    const restored = await restoreFromJournal(journalPath);
    if (restored.restored.length) log.warn({ restored: restored.restored }, "restored host settings left by a crash");
    for (const p of restored.problems) log.error({ problem: p }, "could not restore a host setting");
    // An exit that cuts a running bench short (a second signal, a cleanup past its grace
    // period) still puts the host's sysctls back before the process is gone.
    const restoreAtExit = () => {
      restoreHostEntriesSync(journalPath);
    };
    process.on("exit", restoreAtExit);
    closeLast.push(() => process.off("exit", restoreAtExit));
    await cleanupStale().catch((e: unknown) => log.warn({ err: e }, "stale namespace cleanup failed"));
    // Worktrees of a runner killed mid-job, then the scheduled mirror fetch.
    const pruned = await pruneStaleWorktrees({ git, workDir: config.paths.workDir }).catch((e: unknown) => {
      log.warn({ err: e }, "stale worktree pruning failed");
      return [];
    });
    if (pruned.length) log.warn({ pruned }, "removed worktrees left by a killed runner");
    const mirrors = startMirrorSchedule({ git, workDir: config.paths.workDir, intervalMs: 600_000, log });
    stops.push(() => mirrors.stop());
    // Artifact retention: at start, then hourly.
    const runnerCfg = config.global.runner;
    const prune = () => {
      try {
        const r = pruneArtifacts({
          dir: join(config.paths.workDir, "artifacts"),
          keepDays: runnerCfg.artifactsKeepDays,
          maxBytes: runnerCfg.artifactsMaxMB * 1024 * 1024,
          busyMs: runnerCfg.jobTimeoutSec * 1000,
        });
        if (r.removed.length) log.info({ removed: r.removed, keptBytes: r.keptBytes }, "old artifacts removed");
      } catch (e) {
        log.warn({ err: e }, "artifact pruning failed");
      }
    };
    prune();
    const pruneTimer = setInterval(prune, 3600_000);
    pruneTimer.unref();
    stops.push(() => clearInterval(pruneTimer));
    // Checked once at start: a runner whose sandbox cannot start says so now, not in every job.
    const sandbox = createRunnerSandbox(config, { log });
    try {
      // Bound like a job's folders are, so an unreachable work dir is reported here too.
      mkdirSync(config.paths.workDir, { recursive: true });
      await sandbox.run(["true"], { cwd: config.paths.workDir, readOnly: [config.paths.workDir], timeoutMs: 30_000 });
      log.info({ sandbox: sandbox.describe }, "sandbox ready");
    } catch (e) {
      log.error({ err: e, sandbox: sandbox.describe }, "the sandbox does not start: jobs that run tree code will fail (install bubblewrap; see README, Security model)");
    }
    const processor = createStageProcessor({
      log,
      git,
      sandbox,
      workDir: config.paths.workDir,
      journalPath,
      isShuttingDown: () => shuttingDown,
      jobTimeoutSec: config.global.runner.jobTimeoutSec,
      flowTimeoutSec: config.global.runner.flowTimeoutSec,
      processes,
    });
    // Its entry in the registry (`patchbench runners`): who, which machine, which job.
    // Few retries: a Redis outage must not hold up the runner's shutdown for a heartbeat.
    const beatRedis = newRedis({ ...opts.redis, maxRetriesPerRequest: 1 });
    const beat = await startHeartbeat({
      redis: beatRedis,
      prefix,
      log,
      record: {
        id: `${hostname()}/${opts.pool}/${process.pid}`,
        pool: opts.pool,
        host: hostname(),
        pid: process.pid,
        version: TOOL.version,
        startedAt: new Date().toISOString(),
        heartbeatSec: runnerCfg.heartbeatSec,
        bootTargets: [...new Set(config.trees.filter((t) => t.stages.some((st) => st !== "apply")).map((t) => t.boot.target))].sort(),
        profile: await collectRunnerProfile(opts.machineProfile),
        doctor: opts.doctor ?? null,
      },
    });
    // One job at a time per runner: benchmarks must not share the box. The lock a runner renews while
    // it works is what tells a lost runner's job from a long one: unrenewed for stalledSec, the job
    // goes back to the pool (BullMQ's stalled check, run by every runner of the pool). The registry's
    // current job is set and cleared around the processor itself: a job whose lock was lost meanwhile
    // ends with neither "completed" nor "failed".
    const stalledMs = runnerCfg.stalledSec * 1000;
    const tracked: typeof processor = async (job, token, signal) => {
      const d = job.data as { flowId?: unknown; stage?: unknown };
      beat.setJob({ id: String(job.id), flowId: String(d.flowId ?? "?"), stage: String(d.stage ?? "?"), startedAt: new Date().toISOString() });
      // The signal is how cancelAllJobs (shutdown) reaches the stage.
      const run = processor(job, token, signal);
      active = run.catch(() => undefined);
      try {
        return await run;
      } finally {
        active = null;
        beat.setJob(null);
      }
    };
    const w = new Worker(poolQueue(opts.pool), tracked, { connection, prefix, concurrency: 1, lockDuration: stalledMs, stalledInterval: stalledMs, maxStalledCount: 1 });
    w.on("failed", (job, err) => log.warn({ jobId: job?.id, err: err.message }, "stage job failed"));
    w.on("error", (err) => {
      if (/Missing lock for job|could not renew lock/.test(err.message)) {
        log.warn({ err: err.message, stalledSec: runnerCfg.stalledSec }, "this runner lost a job's lock (silent past runner.stalledSec): another runner of the pool runs it, and this runner's result is dropped");
      } else log.error({ err }, "runner worker error");
    });
    workers.push(w);
    closeAsync.push(async () => {
      await beat.stop();
      beatRedis.disconnect();
    });
    log.info({ pool: opts.pool }, "runner agent joined pool");
  }
  if (opts.orchestrator) {
    if (!opts.db) throw new Error("the orchestrator needs the store");
    // A store outage (PostgreSQL restarting, a network cut) delays the report; it never uses up its attempts.
    const w = new Worker(ORCHESTRATOR_QUEUE, waitingForStore(log, opts.db, createReportProcessor({ db: opts.db, config, log })), {
      connection,
      prefix,
      concurrency: 2,
    });
    w.on("failed", (job, err) => log.warn({ jobId: job?.id, err: err.message }, "report job failed"));
    w.on("error", (err) => log.error({ err }, "orchestrator worker error"));
    workers.push(w);
  }
  return {
    async close() {
      shuttingDown = true;
      for (const stop of stops) stop();
      for (const w of workers) w.cancelAllJobs("shutdown");
      // Closing first, so the worker takes no next job when the running stage hands back.
      const closing = Promise.all(workers.map((w) => w.close()));
      closing.catch(() => undefined);
      if (active) await active;
      // A connection stuck after a network cut can hold a worker's close forever; the process exits
      // anyway, and a job it still held goes back to its pool when its lock expires.
      await withinDeadline("closing the queue workers", closing, CLOSE_DEADLINE_MS, log);
      for (const c of closeAsync) await withinDeadline("leaving the runner registry", c(), CLOSE_DEADLINE_MS, log);
      for (const c of closeLast) c();
    },
  };
}

/** How long one closing step may take once no stage is running. */
const CLOSE_DEADLINE_MS = 20_000;

/** Wait for `p` up to `ms`; past it, warn naming the step and go on (the step is left behind). */
async function withinDeadline(step: string, p: Promise<unknown>, ms: number, log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), ms);
  });
  const r = await Promise.race([p.then(() => "done" as const, () => "done" as const), late]);
  clearTimeout(timer);
  if (r === "late") log.warn({ step, waitedSec: ms / 1000 }, "a closing step did not finish (a Redis connection stuck after a network cut?); going on without it");
}
