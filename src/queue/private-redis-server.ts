import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { RedisOptions } from "ioredis";
import { infraError } from "../lib/errors.ts";
import { childEnv } from "../lib/exec.ts";
import { type FileLock, lockFile, lockFileSync } from "../lib/file-lock.ts";
import type { Logger } from "../lib/logger.ts";
import {
  joinPrivateRedis,
  leavePrivateRedis,
  leavePrivateRedisSync,
  privateRedisLockPath,
  userEntry,
} from "./private-redis-users.ts";
import type { RedisTarget } from "./redis-connection.ts";
import { assertNoEviction, probe } from "./redis-probe.ts";

/**
 * The data dir's own redis-server on a unix socket under <dataDir>/redis
 * (AOF on: a restart resumes unfinished flows), shared by the patchbench
 * processes of that data dir and stopped by the last one (private-redis-users.ts).
 */
export async function startPrivateRedis(dataDir: string, log: Logger): Promise<RedisTarget> {
  const dir = join(dataDir, "redis");
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, "redis.sock");
  const lockPath = privateRedisLockPath(dir);
  const options: RedisOptions = { path: socket };
  // Held from the probe to the join: a leaver cannot stop the server in between, and of two cold starts one spawns.
  // Long enough for another process's spawn (10 s) plus its leave's wait for the socket (5 s).
  const lock = await lockFile(lockPath, 30_000);
  try {
    // Another patchbench process on this data dir may already run it.
    if (existsSync(socket)) {
      const p = await probe(options, 500);
      if (p) {
        assertNoEviction(socket, p.policy);
        await joinPrivateRedis(options);
        const close = async () => {
          const l = await lockFile(lockPath, 30_000);
          try {
            const left = await leavePrivateRedis(options).catch(() => []);
            if (left.length === 0) await socketGone(socket);
          } finally {
            l.release();
          }
        };
        return { options, describe: `unix:${socket} (shared private)`, private: false, found: "private", close };
      }
      rmSync(socket, { force: true });
    }
    return await spawnPrivateRedis(dir, socket, options, log);
  } finally {
    lock.release();
  }
}

/** Start the data dir's redis-server; the caller holds the lock. */
async function spawnPrivateRedis(dir: string, socket: string, options: RedisOptions, log: Logger): Promise<RedisTarget> {
  const lockPath = privateRedisLockPath(dir);
  let child: ChildProcess;
  try {
    child = spawn(
      "redis-server",
      [
        "--port", "0",
        "--unixsocket", socket,
        "--unixsocketperm", "700",
        "--dir", dir,
        "--maxmemory-policy", "noeviction",
        "--appendonly", "yes",
        "--save", "",
        "--daemonize", "no",
        "--logfile", join(dir, "redis.log"),
      ],
      // Not through lib/exec (a long-lived daemon), but with the same allow-listed environment. Its own
      // process group: a Ctrl-C meant for this command must not stop it under another process using it.
      { stdio: "ignore", env: childEnv(), detached: true },
    );
  } catch (e) {
    throw infraError("cannot start redis-server", "install it: apt-get install redis-server", e);
  }
  const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const raced = await Promise.race([spawnError, new Promise<undefined>((r) => setTimeout(r, 50, undefined))]);
    if (raced instanceof Error) {
      throw infraError(`cannot start redis-server: ${raced.message}`, "install it: apt-get install redis-server (or set REDIS_URL)");
    }
    if (child.exitCode !== null) {
      throw infraError(`private redis-server exited with ${child.exitCode}`, `see ${join(dir, "redis.log")}`);
    }
    if (existsSync(socket) && (await probe(options, 300))) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw infraError("private redis-server did not answer within 10 s", `see ${join(dir, "redis.log")}`);
    }
  }
  await joinPrivateRedis(options, { fresh: true });
  log.info({ socket }, "started private redis-server");
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const entry = userEntry();
  // A process that exits without close() (a second Ctrl-C, a forced exit
  // after the grace period) leaves synchronously, and stops its server only
  // when no other live process uses it (or it cannot tell: see leavePrivateRedisSync).
  const onExit = () => {
    if (child.exitCode !== null) return;
    let l: FileLock;
    try {
      l = lockFileSync(lockPath, 5000);
    } catch {
      return; // a join or leave is under way: the server stays; our entry is pruned later, our pid being gone
    }
    try {
      if (leavePrivateRedisSync(socket, entry)?.length !== 0) return;
      child.kill("SIGTERM");
      // Keep the lock until its socket is gone: a process joining meanwhile would lose it.
      const deadline = Date.now() + 5000;
      while (existsSync(socket) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    } finally {
      l.release();
    }
  };
  process.once("exit", onExit);
  return {
    options,
    describe: `unix:${socket} (private)`,
    private: true,
    found: "private",
    close: async () => {
      process.off("exit", onExit);
      if (child.exitCode !== null) return;
      const l = await lockFile(lockPath, 30_000);
      try {
        const left = await leavePrivateRedis(options, { entry }).catch(() => []);
        if (left.length > 0) {
          // The last of them stops it; this process must not wait for it.
          log.info({ socket, users: left }, "private redis-server left running for the other patchbench process(es) on this data dir");
          child.unref();
          return;
        }
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      } finally {
        l.release();
      }
    },
  };
}

/** Wait (up to 5 s) for a server another process started to remove its socket on shutdown. */
async function socketGone(socket: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (existsSync(socket) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

