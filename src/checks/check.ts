import type { CheckFinding, CheckResult } from "../domain/results.ts";
import type { Exec, ExecOptions, ExecResult } from "../lib/exec.ts";
import type { Git } from "../lib/git.ts";

/** A patch mail as the checks see it: raw bytes, never re-built from parsed text. */
export interface CheckPatch {
  index: number;
  subject: string;
  raw: Buffer;
}

export interface CheckContext {
  /** The worktree at the base commit (the tree's own scripts live here). */
  treeDir: string;
  /** False for a tree imported without history (checkpatch cannot look up commit ids there). */
  treeHasHistory: boolean;
  patches: readonly CheckPatch[];
  exec: Exec;
  git: Git;
  /**
   * Run code read from the tree (its scripts/) in the sandbox: as the sandbox
   * user, no network, the worktree read-only, nothing of patchbench visible.
   * Never run tree code through `exec`.
   */
  runTreeCode: (argv: readonly string[], opts: Pick<ExecOptions, "input" | "timeoutMs" | "okCodes" | "signal">) => Promise<ExecResult>;
  signal?: AbortSignal;
}

/** The plug-in shape of a check folder: `src/checks/<id>/index.ts`. */
export interface Check {
  id: string;
  describe: string;
  /** Why it does not run on this series and tree, in the report's words ("the tree has no scripts/checkpatch.pl"); null when it runs. */
  skipReason(ctx: CheckContext): string | null;
  run(ctx: CheckContext): Promise<Omit<CheckResult, "durationMs">>;
}

export type { CheckFinding, CheckResult };
