import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { ApplyData, StageResult } from "../../domain/results.ts";
import { ExecError } from "../../lib/exec.ts";
import { infraError } from "../../lib/errors.ts";
import type { Git } from "../../lib/git.ts";
import type { Logger } from "../../lib/logger.ts";
import type { StageJob } from "../../queue/payloads.ts";
import { parseAmFailure } from "./parse-am-failure.ts";
import { toMboxrd } from "./to-mboxrd.ts";
import { validatePatch } from "./validate-patch.ts";

export interface ApplyDeps {
  git: Git;
  log: Logger;
  workDir: string;
  runner: string;
  signal?: AbortSignal;
}

/** The repository the worktree comes from: a configured local path, or a mirror of url. */
async function prepareRepo(job: StageJob, deps: ApplyDeps): Promise<{ repo: string; notes: string[] }> {
  const notes: string[] = [];
  if (job.tree.path) {
    if (!existsSync(job.tree.path)) throw infraError(`tree path ${job.tree.path} does not exist`, "fix trees.<name>.path");
    return { repo: job.tree.path, notes };
  }
  const mirror = join(deps.workDir, "mirrors", `${job.tree.name}.git`);
  if (!existsSync(mirror)) {
    mkdirSync(join(deps.workDir, "mirrors"), { recursive: true });
    try {
      await deps.git(["clone", "--mirror", "--", job.tree.url, mirror], { timeoutMs: 3 * 3600_000 });
    } catch (e) {
      rmSync(mirror, { recursive: true, force: true });
      throw infraError(
        `cannot clone ${job.tree.url}: ${(e as Error).message}`,
        `set trees.${job.tree.name}.path to a local repository, or give the runner network access`,
        e,
      );
    }
  } else {
    try {
      await deps.git(["remote", "update", "--prune"], { repo: mirror, timeoutMs: 3600_000 });
    } catch (e) {
      notes.push(`mirror fetch failed, using the mirror as it was: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  return { repo: mirror, notes };
}

async function resolveBase(
  job: StageJob,
  repo: string,
  git: Git,
): Promise<{ commit: string; rule: ApplyData["baseRule"]; notes: string[] }> {
  const notes: string[] = [];
  if (job.baseCommit) {
    if (/^[0-9a-f]{7,64}$/i.test(job.baseCommit)) {
      const r = await git(["rev-parse", "--verify", "--quiet", `${job.baseCommit}^{commit}`], { repo, okCodes: "any" });
      if (r.code === 0) return { commit: r.stdout.trim(), rule: "base-commit trailer", notes };
      notes.push(`base-commit ${job.baseCommit.slice(0, 12)} is not in ${job.tree.name}`);
    } else notes.push("base-commit trailer is not a commit id");
  } else notes.push("no base-commit trailer");
  const r = await git(["rev-parse", "--verify", "--quiet", `refs/heads/${job.tree.branch}^{commit}`], {
    repo,
    okCodes: "any",
  });
  if (r.code !== 0) {
    throw infraError(`branch ${job.tree.branch} not found in ${job.tree.name}`, `fix trees.${job.tree.name}.branch`);
  }
  return { commit: r.stdout.trim(), rule: "tree tip", notes };
}

/**
 * Apply a series with `git am -3` in a throwaway worktree, one patch at a
 * time so a failure names its patch. "Does not apply" is a result (fail);
 * only infrastructure problems throw. The worktree is always removed.
 */
export async function applySeries(job: StageJob, deps: ApplyDeps): Promise<StageResult<ApplyData>> {
  const startedAt = new Date().toISOString();
  const { git } = deps;
  const data: ApplyData = {
    tree: job.tree.name,
    branch: job.tree.branch,
    baseCommit: null,
    baseRule: null,
    baseNotes: [],
    head: null,
    applied: 0,
    total: job.patches.length,
    failure: null,
    rejected: [],
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

  const mails = job.patches.map((p) => ({ ...p, raw: Buffer.from(p.rawBase64, "base64") }));
  for (const p of mails) {
    const v = validatePatch(p.raw.toString("latin1"), job.tree);
    for (const reason of v.problems) data.rejected.push({ patch: p.index, reason });
  }
  if (data.rejected.length > 0) {
    return done("fail", `patch ${data.rejected[0]?.patch} refused before apply: ${data.rejected[0]?.reason}`);
  }
  if (mails.length === 0) return done("skip", "no patches to apply");

  const { repo, notes } = await prepareRepo(job, deps);
  const base = await resolveBase(job, repo, git);
  data.baseCommit = base.commit;
  data.baseRule = base.rule;
  data.baseNotes = [...base.notes, ...notes];

  const wt = join(deps.workDir, "worktrees", `${job.flowId}-${process.pid}-${Date.now()}`);
  mkdirSync(join(deps.workDir, "worktrees"), { recursive: true });
  await git(["worktree", "add", "--detach", "--", wt, base.commit], { repo, timeoutMs: 600_000 });
  try {
    for (const p of mails) {
      const am = await git(["am", "-3", "--patch-format=mboxrd"], {
        repo: wt,
        input: toMboxrd([p.raw]),
        okCodes: "any",
        timeoutMs: 600_000,
        ...(deps.signal ? { signal: deps.signal } : {}),
      });
      if (am.code !== 0) {
        const f = parseAmFailure(`${am.stdout}\n${am.stderr}`);
        data.failure = { patch: p.index, subject: p.subject, files: f.files, gitMessage: f.message };
        await git(["am", "--abort"], { repo: wt, okCodes: "any" });
        return done("fail", `patch ${p.index}/${mails.length} does not apply to ${job.tree.name} at ${base.commit.slice(0, 12)}`);
      }
      data.applied++;
    }
    data.head = (await git(["rev-parse", "HEAD"], { repo: wt })).stdout.trim();
    return done("pass", `applied ${data.applied}/${mails.length} patches to ${job.tree.name} at ${base.commit.slice(0, 12)}`);
  } catch (e) {
    if (e instanceof ExecError) throw infraError(`git failed while applying: ${e.message}`, undefined, e);
    throw e;
  } finally {
    await git(["worktree", "remove", "--force", "--", wt], { repo, okCodes: "any" });
    rmSync(wt, { recursive: true, force: true });
    await git(["worktree", "prune"], { repo, okCodes: "any" });
  }
}
