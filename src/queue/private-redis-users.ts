import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { Redis, type RedisOptions } from "ioredis";
import { childEnv } from "../lib/exec.ts";
import { isPidAlive } from "../lib/is-pid-alive.ts";
import { processStartTime } from "../lib/process-table.ts";
import { PRIVATE_REDIS_USERS_KEY } from "./job-ids.ts";

/**
 * Several patchbench processes on one data dir share its private
 * redis-server (two `review`s in one folder, `start` beside a `review`).
 * Each registers itself; the last one to leave stops the server, whoever
 * started it. The server listens on a unix socket only, so every user is on
 * this host. Callers hold privateRedisLockPath() around probe+join,
 * spawn+join and leave: otherwise a process could join between a leaver's
 * "nobody else" and its SHUTDOWN, or two cold starts could both spawn.
 */
export function privateRedisLockPath(redisDir: string): string {
  return join(redisDir, "lock");
}

/**
 * "pid:starttime": the start time (from /proc) tells the process that
 * joined from a later one given the same pid after it was SIGKILLed. A bare
 * pid (older entries, or no /proc) is judged by the pid alone.
 */
export function userEntry(pid = process.pid): string {
  const start = processStartTime(pid);
  return start === null ? String(pid) : `${pid}:${start}`;
}

export function userAlive(entry: string): boolean {
  const [p, start] = entry.split(":");
  const pid = Number(p);
  if (!Number.isInteger(pid) || pid <= 0 || !isPidAlive(pid)) return false;
  if (start === undefined) return true;
  const now = processStartTime(pid);
  return now === null || String(now) === start;
}

async function withClient<T>(options: RedisOptions, f: (c: Redis) => Promise<T>): Promise<T> {
  const o: RedisOptions = { ...options, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null };
  // biome-ignore lint/suspicious/noExplicitAny: ioredis' option types reject explicit undefined under exactOptionalPropertyTypes
  const c = new Redis(o as any);
  c.on("error", () => {
    /* reported through the rejected command */
  });
  try {
    await c.connect();
    return await f(c);
  } finally {
    c.disconnect();
  }
}

/** Drop the entries of processes that are gone; returns the live ones. */
async function prune(c: Redis): Promise<string[]> {
  const all = await c.smembers(PRIVATE_REDIS_USERS_KEY);
  const gone = all.filter((e) => !userAlive(e));
  if (gone.length > 0) await c.srem(PRIVATE_REDIS_USERS_KEY, ...gone);
  return all.filter(userAlive);
}

/**
 * Join (under the lock). `fresh`: this process just started the server, so
 * the set read back from the AOF names processes of an earlier server (maybe
 * of an earlier boot) and is dropped.
 */
export async function joinPrivateRedis(options: RedisOptions, opts: { fresh?: boolean; entry?: string } = {}): Promise<void> {
  await withClient(options, async (c) => {
    if (opts.fresh) await c.del(PRIVATE_REDIS_USERS_KEY);
    else await prune(c);
    await c.sadd(PRIVATE_REDIS_USERS_KEY, opts.entry ?? userEntry());
  });
}

/**
 * Leave (under the lock); when no other live process uses the server, shut
 * it down (AOF keeps its data for the next one). Returns the entries of the
 * processes still using it. `beforeShutdown` lets a test act in the gap.
 */
export async function leavePrivateRedis(
  options: RedisOptions,
  opts: { entry?: string; beforeShutdown?: () => Promise<void> } = {},
): Promise<string[]> {
  return withClient(options, async (c) => {
    await c.srem(PRIVATE_REDIS_USERS_KEY, opts.entry ?? userEntry());
    const left = await prune(c);
    if (left.length === 0) {
      await opts.beforeShutdown?.();
      await c.call("SHUTDOWN").catch(() => undefined);
    }
    return left;
  });
}

const LEAVE_SCRIPT = "redis.call('SREM', KEYS[1], ARGV[1]); return redis.call('SMEMBERS', KEYS[1])";

/**
 * leavePrivateRedis for an 'exit' handler, through redis-cli: leaves and
 * returns the live users left, or null when it cannot tell (then the caller
 * keeps the server: an idle server is cheaper than one stopped under a user).
 */
export function leavePrivateRedisSync(socket: string, entry: string): string[] | null {
  const r = spawnSync("redis-cli", ["-s", socket, "--raw", "EVAL", LEAVE_SCRIPT, "1", PRIVATE_REDIS_USERS_KEY, entry], {
    encoding: "utf8",
    timeout: 3000,
    env: childEnv(),
  });
  if (r.status !== 0 || /^(ERR|WRONGTYPE)/m.test(r.stdout ?? "")) return null;
  return (r.stdout ?? "").split("\n").filter((e) => e !== "" && userAlive(e));
}
