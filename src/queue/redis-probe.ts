import { Redis, type RedisOptions } from "ioredis";
import { configError } from "../lib/errors.ts";

/** Ping and read the eviction policy; undefined when nothing answers. */
export async function probe(options: RedisOptions, timeoutMs: number): Promise<{ policy: string } | undefined> {
  const probeOptions: RedisOptions = {
    ...options,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  };
  // biome-ignore lint/suspicious/noExplicitAny: ioredis' option types reject explicit undefined under exactOptionalPropertyTypes
  const client = new Redis(probeOptions as any);
  client.on("error", () => {
    /* reported through the rejected connect */
  });
  try {
    await client.connect();
    await client.ping();
    const cfg = (await client.call("CONFIG", "GET", "maxmemory-policy")) as string[];
    return { policy: cfg[1] ?? "unknown" };
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

export function assertNoEviction(where: string, policy: string): void {
  if (policy !== "noeviction") {
    throw configError(
      `Redis at ${where} uses maxmemory-policy ${policy}; patchbench needs noeviction`,
      `run CONFIG SET maxmemory-policy noeviction there (and persist it in redis.conf), or point REDIS_URL elsewhere`,
    );
  }
}

