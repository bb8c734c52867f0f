import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "./fixtures.ts";

/**
 * The kernel tier's tree: the pinned linux-source-6.1 (scripts/prepare-kernel-tree.sh, cached)
 * cloned --shared at its base branch into a fresh folder, with `git` running as `gitEnv`'s identity.
 */
export function cloneKernelTestTree(prefix: string, gitEnv: Record<string, string>): { dir: string; repo: string; git: (...args: string[]) => string } {
  const src = execFileSync("bash", [join(PROJECT_ROOT, "scripts", "prepare-kernel-tree.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
    .trim()
    .split("\n")
    .pop()!;
  const dir = mkdtempSync(join(tmpdir(), prefix));
  // make runs as the sandbox user, which must be able to reach the worktrees (mkdtemp makes 0700).
  chmodSync(dir, 0o711);
  const repo = join(dir, "linux");
  const env = { ...process.env, ...gitEnv };
  execFileSync("git", ["clone", "-q", "--shared", "--branch", "base", src, repo], { env });
  return { dir, repo, git: (...args) => execFileSync("git", args, { cwd: repo, env, encoding: "utf8" }).trim() };
}
