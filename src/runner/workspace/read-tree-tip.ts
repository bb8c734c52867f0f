import { existsSync } from "node:fs";
import { git as defaultGit, type Git } from "../../lib/git.ts";

/**
 * The tip of a tree's branch as the orchestrator sees it at ingest time, for
 * the "tree tip recorded at ingest" base rule. Only a local repository
 * (`path`) is read here; without one the runner records the tip it used.
 */
export async function readTreeTip(tree: { path: string | null; branch: string }, git: Git = defaultGit): Promise<string | null> {
  if (!tree.path || !existsSync(tree.path)) return null;
  const r = await git(["rev-parse", "--verify", "--quiet", `refs/heads/${tree.branch}^{commit}`], { repo: tree.path, okCodes: "any" });
  return r.code === 0 ? r.stdout.trim() : null;
}
