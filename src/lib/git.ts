import { type Exec, type ExecOptions, exec as defaultExec } from "./exec.ts";

/**
 * All git invocations go through here: isolated from the user's and the
 * system's git config, with a fixed identity, never through a shell.
 */
export const GIT_ENV: Record<string, string> = {
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_TERMINAL_PROMPT: "0",
  GIT_AUTHOR_NAME: "patchbench",
  GIT_AUTHOR_EMAIL: "patchbench@localhost",
  GIT_COMMITTER_NAME: "patchbench",
  GIT_COMMITTER_EMAIL: "patchbench@localhost",
  LC_ALL: "C",
};

export type Git = (args: readonly string[], options?: ExecOptions & { repo?: string }) => Promise<import("./exec.ts").ExecResult>;

export function createGit(exec: Exec = defaultExec): Git {
  return (args, options = {}) => {
    const { repo, ...rest } = options;
    const argv = ["git", ...(repo ? ["-C", repo] : []), ...args];
    return exec(argv, { ...rest, extraEnv: { ...GIT_ENV, ...(rest.extraEnv ?? {}) } });
  };
}

export const git: Git = createGit();
