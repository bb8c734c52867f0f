import type { Config } from "../config/schema.ts";
import type { Exec } from "../lib/exec.ts";
import type { Logger } from "../lib/logger.ts";
import { createSandbox, type Sandbox, type SandboxSettings } from "../lib/sandbox.ts";

/**
 * What the sandbox hides: patchbench's own state (data dir, work dir with
 * every mirror and worktree, outbox, store, Redis socket under the data
 * dir), its configuration (runner.env may hold secrets) and key files named
 * by the environment or the trees. The job's own folders are bound back in
 * per step by the caller.
 */
export function sandboxHidePaths(config: Config, env: NodeJS.ProcessEnv = process.env): string[] {
  const p = config.paths;
  const hide = [p.dataDir, p.workDir, p.outboxDir, p.storePath, `${p.storePath}-wal`, `${p.storePath}-shm`, "/etc/patchbench", "/var/lib/patchbench"];
  if (config.configDir) hide.push(config.configDir);
  if (env.PATCHBENCH_GITHUB_PRIVATE_KEY_PATH) hide.push(env.PATCHBENCH_GITHUB_PRIVATE_KEY_PATH);
  for (const t of config.trees) {
    if (t.boot.ssh.identityFile) hide.push(t.boot.ssh.identityFile);
    if (t.boot.ssh.knownHostsFile) hide.push(t.boot.ssh.knownHostsFile);
    // The remote peer's login (root by default) and its pinned host key.
    if (t.bench.remote) hide.push(t.bench.remote.identityFile, t.bench.remote.knownHostsFile);
  }
  return [...new Set(hide)];
}

export function sandboxSettingsOf(config: Config, env: NodeJS.ProcessEnv = process.env): SandboxSettings {
  const r = config.global.runner;
  return { mode: r.sandbox, user: r.sandboxUser, limits: r.sandboxLimits, hide: sandboxHidePaths(config, env) };
}

/** The runner's sandbox, from the configuration (warns when it is off or has no dedicated user). */
export function createRunnerSandbox(config: Config, deps: { log: Logger; exec?: Exec }): Sandbox {
  return createSandbox(sandboxSettingsOf(config), { log: deps.log, ...(deps.exec ? { exec: deps.exec } : {}) });
}
