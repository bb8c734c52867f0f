import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load-config.ts";
import type { Config } from "../../src/config/schema.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { resolveSandboxIdentity, type Sandbox } from "../../src/lib/sandbox.ts";
import { openStore } from "../../src/store/open-store.ts";
import { createRunnerSandbox } from "../../src/workers/create-runner-sandbox.ts";
import { startTestRedis } from "../helpers/redis-server.ts";
import type { ProbeTargets } from "./hostile-probe.ts";
import type { ProbeHost } from "./probe-verdicts.ts";

export const SECRETS = { PATCHBENCH_SMTP_PASSWORD: "smtp-secret-3b1f", PATCHBENCH_GITHUB_WEBHOOK_SECRET: "hook-secret-9c2e" };

/** A runner host as an attacker finds it: secrets, a store, a Redis socket, a listener. */
export interface HostileHost extends ProbeHost {
  dir: string;
  dataDir: string;
  redisSocket: string;
  /** A file outside every folder a job may write. */
  hostFile: string;
  config: Config;
  /** The runner's sandbox as `patchbench runner` builds it from the config. */
  sandbox: Sandbox;
  /** The probe's targets: this host's, plus what the context tries to write. */
  targets(writes: readonly string[], late?: ProbeTargets["late"]): ProbeTargets;
}

/** Why the sandbox rows cannot run here, or null. */
export function sandboxUnavailable(): string | null {
  if (process.geteuid?.() !== 0) return "needs root (the runner drops to the sandbox user)";
  if (!["/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap"].some((p) => existsSync(p))) return "bubblewrap is not installed (scripts/setup-system.sh)";
  return null;
}

/**
 * Run `fn` on a scratch runner host: a data dir holding the store and a real
 * redis-server's unix socket, a TCP listener on 127.0.0.1, the secrets in
 * process.env, the runner's sandbox from a loaded config. Everything is
 * undone afterwards.
 */
export async function withHostileHost<T>(fn: (h: HostileHost) => Promise<T>, flags: { sandboxDiskMB?: number } = {}): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "pb-sec-sbx-"));
  chmodSync(dir, 0o711);
  const dataDir = join(dir, "data");
  mkdirSync(dataDir);
  const redisSocket = join(dataDir, "redis.sock");
  const redis = await startTestRedis(["--unixsocket", redisSocket, "--unixsocketperm", "777"]);
  const saved = { ...process.env };
  let connections = 0;
  const server = createServer((s) => {
    connections++;
    s.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  try {
    const config = loadConfig({ flags: { dataDir, redisUrl: redis.url } });
    if (flags.sandboxDiskMB !== undefined) config.global.runner.sandboxLimits.diskMB = flags.sandboxDiskMB;
    const db = await openStore(config.paths.storePath);
    await db.destroy();
    assert.ok(existsSync(config.paths.storePath) && existsSync(redisSocket), "the store and the Redis socket exist on the host");
    Object.assign(process.env, SECRETS);
    const storePath = config.paths.storePath;
    const hostFile = join(dir, "host-pwned");
    const host: HostileHost = {
      dir,
      dataDir,
      redisSocket,
      hostFile,
      config,
      sandbox: createRunnerSandbox(config, { log: silentLogger() }),
      secrets: Object.values(SECRETS),
      storePath,
      port,
      connections: () => connections,
      mountPoints: ["work", "outbox", ...[storePath, `${storePath}-wal`, `${storePath}-shm`].map((p) => p.slice(dataDir.length + 1))],
      sandboxUser: resolveSandboxIdentity(config.global.runner.sandboxUser),
      targets: (writes, late) => ({ storePath, dataDir, redisSocket, port, writes: [join(dataDir, "pwned"), hostFile, "/etc/pb-sec-pwned", ...writes], ...(late ? { late } : {}) }),
    };
    return await fn(host);
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    server.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
