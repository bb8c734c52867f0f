import { Redis, type RedisOptions } from "ioredis";
import { PRIVATE_REDIS_USERS_KEY } from "./job-ids.ts";

/**
 * Several patchbench processes on one data dir share its private
 * redis-server (two `review`s in one folder, `start` beside a `review`).
 * Each registers its pid; the last one to leave stops the server, whoever
 * started it: the starter stopping it under the others left them retrying a
 * missing socket until their timeout. The server listens on a unix socket
 * only, so every user is on this host and a pid that no longer runs is gone.
 */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
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

export async function joinPrivateRedis(options: RedisOptions, pid = process.pid): Promise<void> {
  await withClient(options, (c) => c.sadd(PRIVATE_REDIS_USERS_KEY, String(pid)));
}

/**
 * Leave; when no other live process uses the server, shut it down (AOF
 * keeps its data for the next one). Returns the pids still using it.
 */
export async function leavePrivateRedis(options: RedisOptions, pid = process.pid): Promise<number[]> {
  return withClient(options, async (c) => {
    await c.srem(PRIVATE_REDIS_USERS_KEY, String(pid));
    const others = (await c.smembers(PRIVATE_REDIS_USERS_KEY)).map(Number);
    const gone = others.filter((p) => !alive(p));
    if (gone.length > 0) await c.srem(PRIVATE_REDIS_USERS_KEY, ...gone.map(String));
    const left = others.filter(alive);
    if (left.length === 0) await c.call("SHUTDOWN").catch(() => undefined);
    return left;
  });
}
