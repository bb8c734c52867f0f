import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { infraError } from "../../lib/errors.ts";
import type { Git } from "../../lib/git.ts";

export interface MirrorTree {
  name: string;
  url: string;
  /** A local repository used instead of url (mirrored the same way: the runner never writes to it). */
  path: string | null;
}

export interface MirrorDeps {
  git: Git;
  workDir: string;
  /** Fetch only when the last fetch is older than this (the schedule); 0 = always. */
  fetchIntervalMs?: number;
  now?: () => number;
  signal?: AbortSignal;
}

export interface Mirror {
  repo: string;
  /** What happened: "cloned", "fetched", "fresh" (fetched recently), or a failed fetch note. */
  action: "cloned" | "fetched" | "fresh" | "fetch-failed";
  notes: string[];
}

const STAMP = "patchbench-last-fetch";

/** Pure: a tree's origin as reports show it: the local path, or the URL without user or password. */
export function displayOrigin(tree: Pick<MirrorTree, "url" | "path">): string {
  if (tree.path !== null) return tree.path;
  try {
    const u = new URL(tree.url);
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return tree.url;
  }
}

export function mirrorPath(workDir: string, tree: string): string {
  return join(workDir, "mirrors", `${tree}.git`);
}

/**
 * The mirror of a tree's origin: `<name>.git`, or, when that one follows
 * another origin (a `review --tree-path`, a changed url), a mirror of its
 * own, `<name>@<sha256(origin) prefix>.git`. A job never uses commits of an
 * origin it was not given; the big mirror of the usual origin stays as it is.
 */
export async function ensureMirror(tree: MirrorTree, deps: MirrorDeps): Promise<Mirror> {
  const source = tree.path ?? tree.url;
  if (tree.path !== null && (!isAbsolute(tree.path) || !existsSync(tree.path))) {
    throw infraError(`tree path ${tree.path} does not exist (or is not absolute)`, `fix trees.${tree.name}.path`);
  }
  const primary = mirrorPath(deps.workDir, tree.name);
  if (!existsSync(join(primary, "HEAD"))) {
    // null: another runner of this data dir (a second review at once) made it first, maybe of another origin.
    return (await syncMirror(primary, source, tree, deps)) ?? ensureMirror(tree, deps);
  }
  const was = (await deps.git(["config", "--get", "remote.origin.url"], { repo: primary, okCodes: "any" })).stdout.trim();
  if (was === source) return (await syncMirror(primary, source, tree, deps)) ?? ensureMirror(tree, deps);
  const own = mirrorPath(deps.workDir, `${tree.name}@${createHash("sha256").update(source).digest("hex").slice(0, 12)}`);
  const m = (await syncMirror(own, source, tree, deps)) ?? (await syncMirror(own, source, tree, deps));
  if (!m) throw infraError(`mirror ${own} appeared and vanished while cloning`, "run the review again");
  return { ...m, notes: [`tree origin ${source}: its own mirror (${tree.name}.git follows ${was})`, ...m.notes] };
}

/**
 * A bare mirror per tree under <workDir>/mirrors, cloned once and then
 * updated by `git fetch` when the last fetch is older than the interval.
 * Worktrees are made from the mirror, so a configured local repository is
 * never written to. A failed fetch keeps the mirror as it was (noted).
 * Null when another process put a mirror in place while this one cloned.
 */
async function syncMirror(repo: string, source: string, tree: MirrorTree, deps: MirrorDeps): Promise<Mirror | null> {
  const { git } = deps;
  const now = deps.now ?? Date.now;
  const sig = deps.signal ? { signal: deps.signal } : {};
  if (!existsSync(join(repo, "HEAD"))) {
    rmSync(repo, { recursive: true, force: true });
    mkdirSync(join(deps.workDir, "mirrors"), { recursive: true });
    const tmp = `${repo}.partial-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    try {
      // A local clone hard-links objects: cheap even for a kernel tree.
      await git(["clone", "--mirror", "--quiet", "--", source, tmp], { timeoutMs: 3 * 3600_000, ...sig });
      await git(["config", "gc.auto", "0"], { repo: tmp });
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw infraError(
        `cannot clone ${source}: ${(e as Error).message.split("\n")[0]}`,
        `set trees.${tree.name}.path to a local repository, or give the runner network access`,
        e,
      );
    }
    const { renameSync } = await import("node:fs");
    try {
      renameSync(tmp, repo);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOTEMPTY" || code === "EEXIST") return null;
      throw e;
    }
    writeFileSync(join(repo, STAMP), String(now()));
    return { repo, action: "cloned", notes: [] };
  }
  const last = Number(existsSync(join(repo, STAMP)) ? readFileSync(join(repo, STAMP), "utf8") : "0");
  if (now() - last < (deps.fetchIntervalMs ?? 0)) return { repo, action: "fresh", notes: [] };
  try {
    // The url may have changed in the config: fetch from what is configured now.
    await git(["fetch", "--prune", "--quiet", "--force", "--", source, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"], {
      repo,
      timeoutMs: 3600_000,
      ...sig,
    });
    writeFileSync(join(repo, STAMP), String(now()));
    return { repo, action: "fetched", notes: [] };
  } catch (e) {
    return {
      repo,
      action: "fetch-failed",
      notes: [`mirror fetch failed, using the mirror as it was: ${(e as Error).message.split("\n")[0]}`],
    };
  }
}

/** The mirrors present under workDir (for the scheduled fetch and start-up pruning). */
export function listMirrors(workDir: string): string[] {
  const dir = join(workDir, "mirrors");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith(".git") && statSync(join(dir, n)).isDirectory())
    .map((n) => join(dir, n));
}
