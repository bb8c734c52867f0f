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
    // One job at a time per runner: benchmarks must not share the box. The lock a runner renews while
    // it works is what tells a lost runner's job from a long one: unrenewed for stalledSec, the job
    // goes back to the pool (BullMQ's stalled check, run by every runner of the pool).
    const stalledMs = runnerCfg.stalledSec * 1000;
    const w = new Worker(poolQueue(opts.pool), processor, { connection, prefix, concurrency: 1, lockDuration: stalledMs, stalledInterval: stalledMs, maxStalledCount: 1 });
    w.on("failed", (job, err) => log.warn({ jobId: job?.id, err: err.message }, "stage job failed"));
    w.on("error", (err) => log.error({ err }, "runner worker error"));
    workers.push(w);
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
    w.on("active", (job) => {
      const d = job.data as { flowId?: unknown; stage?: unknown };
      beat.setJob({ id: String(job.id), flowId: String(d.flowId ?? "?"), stage: String(d.stage ?? "?"), startedAt: new Date().toISOString() });
    });
    w.on("completed", () => beat.setJob(null));
    w.on("failed", () => beat.setJob(null));
    closeAsync.push(async () => {
      await beat.stop();
      beatRedis.disconnect();
    });
    log.info({ pool: opts.pool }, "runner agent joined pool");
  }
  if (opts.orchestrator) {
    if (!opts.db) throw new Error("the orchestrator needs the store");
    const w = new Worker(ORCHESTRATOR_QUEUE, createReportProcessor({ db: opts.db, config, log }), {
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
      await Promise.all(workers.map((w) => w.close()));
      for (const c of closeAsync) await c();
      for (const c of closeLast) c();
    },
  };
}
