import { spawn, spawnSync } from "node:child_process";
import { closeSync, constants, openSync } from "node:fs";
import { infraError } from "./errors.ts";
import { childEnv } from "./exec.ts";

/**
 * An exclusive flock(2) on a file, held by this process until release() or
 * its death. Node has no flock: flock(1) from util-linux gets the file this
 * process opened as its fd 3 and locks that open file description, which
 * this process keeps, so the lock outlives flock(1). The kernel drops it
 * when this process exits, even on SIGKILL: no stale lock file, no pid to
 * trust after a reboot. The same call also works synchronously, which an
 * 'exit' handler needs. (Not through lib/exec: it must hand over a descriptor.)
 */
export interface FileLock {
  release(): void;
}

function flockArgs(timeoutMs: number): string[] {
  return ["--exclusive", "--wait", (timeoutMs / 1000).toFixed(1), "3"];
}

function open(path: string): number {
  // O_CLOEXEC is libuv's default: children started while the lock is held (redis-server) do not keep it.
  return openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
}

function held(fd: number): FileLock {
  let open = true;
  return {
    release() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

function failure(path: string, code: number | null, error: Error | undefined): Error {
  if (error) return infraError(`cannot lock ${path}: ${error.message}`, "install util-linux (flock)", error);
  return infraError(`${path} stayed locked by another patchbench process (flock exited ${code})`, "is another patchbench process on this data dir stuck?");
}

export async function lockFile(path: string, timeoutMs: number): Promise<FileLock> {
  const fd = open(path);
  const r = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
    const c = spawn("flock", flockArgs(timeoutMs), { stdio: ["ignore", "ignore", "ignore", fd], env: childEnv() });
    c.once("error", (error) => resolve({ code: null, error }));
    c.once("exit", (code) => resolve({ code }));
  });
  if (r.code === 0) return held(fd);
  closeSync(fd);
  throw failure(path, r.code, r.error);
}

/** lockFile for an 'exit' handler: blocks this process until it holds the lock or the time is up. */
export function lockFileSync(path: string, timeoutMs: number): FileLock {
  const fd = open(path);
  const r = spawnSync("flock", flockArgs(timeoutMs), { stdio: ["ignore", "ignore", "ignore", fd], env: childEnv() });
  if (r.status === 0) return held(fd);
  closeSync(fd);
  throw failure(path, r.status, r.error);
}
