import { rm } from "node:fs/promises";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Git } from "../../lib/git.ts";
import { listMirrors } from "./ensure-mirror.ts";
import { isPidAlive } from "../../lib/is-pid-alive.ts";

const OWNER = ".patchbench-owner";

export interface JobWorktree {
  dir: string;
  repo: string;
  /** The worktree's own git dir inside the mirror (read when the worktree was made, before any untrusted step). */
  gitDir: string;
}

/**
 * git arguments that address a worktree without reading anything in it:
 * after a sandboxed step its `.git` file (and everything else there) is the
 * sandbox user's, and a `.git` pointing at a repository it made would have
 * root run that repository's hooks and config. Explicit --git-dir/--work-tree
 * never read it (and skip git's ownership check, which would refuse the
 * sandbox-owned tree).
 */
export function worktreeGitArgs(wt: JobWorktree): string[] {
  return ["--git-dir", wt.gitDir, "--work-tree", wt.dir];
}


/** Delete the folder first (never git in it: it may hold what a sandboxed step left), then let the mirror forget it. */
async function removeWorktree(git: Git, repo: string, dir: string): Promise<void> {
  // Asynchronous: a built kernel tree is ~80k files, and a blocked event loop loses the job's queue lock.
  await rm(dir, { recursive: true, force: true });
  await git(["worktree", "prune"], { repo, okCodes: "any" });
}

/**
 * One throwaway worktree per job: created detached at `commit`, handed to
 * `fn`, removed afterwards whatever happens (result, throw, abort). The
 * directory records its owner's pid so a runner that was killed leaves
 * something `pruneStaleWorktrees` recognises on the next start.
 */
export async function withJobWorktree<T>(
  opts: { git: Git; repo: string; workDir: string; key: string; commit: string; signal?: AbortSignal },
  fn: (wt: JobWorktree) => Promise<T>,
): Promise<T> {
  const { git, repo } = opts;
  const root = join(opts.workDir, "worktrees");
  mkdirSync(root, { recursive: true });
  const dir = join(root, `${opts.key.replace(/[^A-Za-z0-9._-]/g, "_")}-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(dir);
  writeFileSync(join(root, `${dir.split("/").pop()}${OWNER}`), JSON.stringify({ pid: process.pid, repo }));
  try {
    await git(["worktree", "add", "--force", "--detach", "--", dir, opts.commit], {
      repo,
      timeoutMs: 1800_000,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const gitDir = (await git(["rev-parse", "--absolute-git-dir"], { repo: dir })).stdout.trim();
    return await fn({ dir, repo, gitDir });
  } finally {
    await removeWorktree(git, repo, dir);
    rmSync(join(root, `${dir.split("/").pop()}${OWNER}`), { force: true });
  }
}

/**
 * On runner start: remove worktrees whose owning process is gone (a runner
 * killed mid-job) and let every mirror forget them. Returns what was removed.
 */
export async function pruneStaleWorktrees(opts: { git: Git; workDir: string }): Promise<string[]> {
  const root = join(opts.workDir, "worktrees");
  const removed: string[] = [];
  if (existsSync(root)) {
    for (const name of readdirSync(root)) {
      if (name.endsWith(OWNER)) continue;
      const dir = join(root, name);
      const ownerFile = join(root, `${name}${OWNER}`);
      let owner: { pid?: number; repo?: string } = {};
      try {
        owner = JSON.parse(readFileSync(ownerFile, "utf8")) as typeof owner;
      } catch {
        /* no owner record: left by an older runner, stale by definition */
      }
      if (owner.pid !== undefined && owner.pid !== process.pid && isPidAlive(owner.pid)) continue;
      if (owner.pid === process.pid) continue;
      if (owner.repo && existsSync(owner.repo)) await removeWorktree(opts.git, owner.repo, dir);
      else rmSync(dir, { recursive: true, force: true });
      rmSync(ownerFile, { force: true });
      removed.push(dir);
    }
    for (const name of readdirSync(root)) {
      if (name.endsWith(OWNER) && !existsSync(join(root, name.slice(0, -OWNER.length)))) rmSync(join(root, name), { force: true });
    }
  }
  for (const repo of listMirrors(opts.workDir)) await opts.git(["worktree", "prune"], { repo, okCodes: "any" });
  return removed;
}
