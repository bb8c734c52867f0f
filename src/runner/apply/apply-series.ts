import type { ApplyData, StageResult } from "../../domain/results.ts";
import { combineStatus } from "../../domain/status.ts";
import { runChecks } from "../../checks/run-checks.ts";
import { type Exec, ExecError, exec as defaultExec } from "../../lib/exec.ts";
import { infraError } from "../../lib/errors.ts";
import type { Git } from "../../lib/git.ts";
import type { Logger } from "../../lib/logger.ts";
import { defaultSandbox, type Sandbox } from "../../lib/sandbox.ts";
import type { StageJob } from "../../queue/payloads.ts";
import { displayOrigin, ensureMirror } from "../workspace/ensure-mirror.ts";
import { withJobWorktree } from "../workspace/job-worktree.ts";
import { parsePreimages } from "../workspace/parse-preimages.ts";
import { selectBase } from "../workspace/select-base.ts";
import { amSeries, type RawPatch } from "./am-series.ts";
import { validatePatch } from "./validate-patch.ts";
import { applyTip } from "./apply-tip.ts";
import { flowRef } from "./flow-ref.ts";
import { stageJobId } from "../../queue/job-ids.ts";

export interface ApplyDeps {
  git: Git;
  log: Logger;
  workDir: string;
  runner: string;
  exec?: Exec;
  /** Where tree code (checkpatch.pl) runs; default: bwrap hiding workDir. */
  sandbox?: Sandbox;
  /** Mirror fetch schedule: fetch only when the last fetch is older (default 10 min). */
  fetchIntervalMs?: number;
  signal?: AbortSignal;
}

/** The combined status of the checks of an apply result (skip when none ran). */
export function checksStatus(data: ApplyData): StageResult["status"] {
  return combineStatus((data.checks ?? []).map((c) => c.status));
}


export function rawPatches(job: StageJob): RawPatch[] {
  return job.patches.map((p) => ({ index: p.index, subject: p.subject, raw: Buffer.from(p.rawBase64, "base64") }));
}

/**
 * Apply a series in a throwaway worktree of the tree's mirror, on a base
 * chosen by selectBase (the rule and the reasons are in the result), after
 * validating every patch and running the checks on the base tree.
 * "Does not apply" is a result (fail); only infrastructure problems throw.
 * The worktree is always removed; the applied head is kept as a ref.
 */
export async function applySeries(job: StageJob, deps: ApplyDeps): Promise<StageResult<ApplyData>> {
  const startedAt = new Date().toISOString();
  const { git } = deps;
  const data: ApplyData = {
    tree: job.tree.name,
    origin: displayOrigin(job.tree),
    branch: job.tree.branch,
    baseCommit: null,
    baseRule: null,
    baseNotes: [],
    head: null,
    applied: 0,
    total: job.patches.length,
    failure: null,
    rejected: [],
    alreadyApplied: [],
    checks: [],
  };
  const done = (status: StageResult["status"], summary: string): StageResult<ApplyData> => ({
    stage: "apply",
    status,
    summary,
    startedAt,
    endedAt: new Date().toISOString(),
    runner: deps.runner,
    data,
  });

  if (job.tip) return applyTip(job, job.tip, data, done, { git, workDir: deps.workDir, ...(deps.fetchIntervalMs === undefined ? {} : { fetchIntervalMs: deps.fetchIntervalMs }), ...(deps.signal ? { signal: deps.signal } : {}) });
  const mails = rawPatches(job);
  for (const p of mails) {
    const v = validatePatch(p.raw.toString("latin1"), job.tree);
    for (const reason of v.problems) data.rejected.push({ patch: p.index, reason });
  }
  if (data.rejected.length > 0) {
    return done("fail", `patch ${data.rejected[0]?.patch} refused before apply: ${data.rejected[0]?.reason}`);
  }
  if (mails.length === 0) return done("skip", "no patches to apply");

  const sig = deps.signal ? { signal: deps.signal } : {};
  const mirror = await ensureMirror(job.tree, { git, workDir: deps.workDir, fetchIntervalMs: deps.fetchIntervalMs ?? 600_000, ...sig });
  const base = await selectBase(git, mirror.repo, {
    tree: job.tree.name,
    branch: job.tree.branch,
    baseCommit: job.baseCommit,
    treeTip: job.treeTip ?? null,
    unsent: job.unsent,
    preimages: parsePreimages(mails.map((m) => m.raw.toString("latin1"))),
  });
  data.baseCommit = base.commit;
  data.baseRule = base.rule;
  data.baseNotes = [...base.notes, ...mirror.notes];
  if (base.tipSource) data.tipSource = base.tipSource;
  const at = `${job.tree.name} at ${base.commit.slice(0, 12)}`;

  try {
    return await withJobWorktree(
      { git, repo: mirror.repo, workDir: deps.workDir, key: stageJobId(job.flowId, "apply"), commit: base.commit, ...sig },
      async (wt) => {
        const history = await git(["rev-list", "--count", "--max-count=2", "HEAD"], { repo: wt.dir });
        const sandbox = deps.sandbox ?? defaultSandbox([deps.workDir]);
        data.checks = await runChecks(
          {
            treeDir: wt.dir,
            treeHasHistory: Number(history.stdout.trim()) > 1,
            patches: mails,
            exec: deps.exec ?? defaultExec,
            git,
            // Read-only: the checks read the tree, and git am (as the runner) comes after them.
            runTreeCode: (argv, o) => sandbox.run(argv, { ...o, cwd: wt.dir, readOnly: [mirror.repo, wt.dir] }),
            ...sig,
          },
          job.checks,
        );
        const am = await amSeries(git, wt.dir, mails, deps.signal);
        data.applied = am.applied;
        data.alreadyApplied = am.alreadyApplied;
        data.failure = am.failure;
        if (am.failure) {
          return done("fail", `patch ${am.failure.patch}/${mails.length} does not apply to ${at}`);
        }
        data.head = am.head;
        if (am.head) await git(["update-ref", flowRef(job.flowId), am.head], { repo: mirror.repo });
        const skipped = am.alreadyApplied.map((a) => a.patch);
        // The stage's status is the apply's own; each check carries its status in data.checks
        // (checksStatus combines them) so a style finding never reads as "does not apply".
        const skippedNote = skipped.length > 0 ? `; patch ${skipped.join(", ")} already applied upstream, skipped` : "";
        return done(skipped.length > 0 ? "warn" : "pass", `applied ${am.applied}/${mails.length} patches to ${at}${skippedNote}`);
      },
    );
  } catch (e) {
    if (e instanceof ExecError) throw infraError(`git failed while applying: ${e.message}`, undefined, e);
    throw e;
  }
}
