import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { Redis, type RedisOptions } from "ioredis";
import { PRIVATE_REDIS } from "../config/schema.ts";
import { infraError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import { startPrivateRedis } from "./private-redis-server.ts";
import { assertNoEviction, probe } from "./redis-probe.ts";

/**
 * How patchbench finds its Redis:
 *  1. REDIS_URL / redis.url when given (must answer, else a clear error);
 *     "private" goes straight to 3;
 *  2. else 127.0.0.1:6379 when something answers there (shared with whatever
 *     else uses it: the queue keys get this data dir's prefix, see queuePrefix);
 *  3. else a private redis-server on a unix socket under <dataDir>/redis,
 *     with AOF on (a restart resumes unfinished flows) and stopped on exit.
 * Every Redis must run with maxmemory-policy noeviction: BullMQ keys evicted
 * under memory pressure mean lost jobs (https://docs.bullmq.io/guide/going-to-production).
 */
export interface RedisTarget {
  /** ioredis options for new connections (workers need maxRetriesPerRequest: null). */
  options: RedisOptions;
  /** Where it is, for logs and `--help` output (no password). */
  describe: string;
  /** True when this process started a private redis-server. */
  private: boolean;
  /** How it was found: the configured URL, the default port nobody configured, or this data dir's own server. */
  found: "configured" | "default-port" | "private";
  /** Stop the private server if we started it. */
  close(): Promise<void>;
}

/** ioredis' option types do not accept explicit undefined under exactOptionalPropertyTypes. */
export function newRedis(options: RedisOptions): Redis {
  // biome-ignore lint/suspicious/noExplicitAny: see above
  return new Redis(options as any);
}

function optionsFromUrl(url: string): RedisOptions {
  const u = new URL(url);
  const o: RedisOptions = {
    host: u.hostname || "127.0.0.1",
    port: u.port ? Number(u.port) : 6379,
  };
  if (u.password) o.password = decodeURIComponent(u.password);
  if (u.username) o.username = decodeURIComponent(u.username);
  const dbPath = u.pathname.replace(/^\//, "");
  if (dbPath) o.db = Number(dbPath);
  if (u.protocol === "rediss:") o.tls = {};
  return o;
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.toString();
}

/**
 * Pure: the BullMQ key prefix to use. A Redis found on the default port
 * was configured by nobody and may serve other data dirs (a demo, another
 * user's reviews): with the default prefix, the keys get this data dir's
 * own suffix so one install never takes another's jobs. A configured Redis
 * is shared on purpose (orchestrator and runners on several hosts), and a
 * private one serves one data dir: their prefix is the configured one.
 */
export function queuePrefix(prefix: string, found: RedisTarget["found"], dataDir: string): string {
  if (found !== "default-port" || prefix !== DEFAULT_PREFIX) return prefix;
  return `${prefix}-${createHash("sha256").update(resolve(dataDir)).digest("hex").slice(0, 8)}`;
}

export const DEFAULT_PREFIX = "patchbench";

export async function connectRedis(opts: {
  url: string | null;
  dataDir: string;
  log: Logger;
  /** Skip step 2 (tests that must not touch a shared Redis). */
  noDefaultPort?: boolean;
}): Promise<RedisTarget> {
  if (opts.url === PRIVATE_REDIS) return startPrivateRedis(opts.dataDir, opts.log);
  if (opts.url) {
    const options = optionsFromUrl(opts.url);
    const p = await probe(options, 3000);
    if (!p) {
      throw infraError(`cannot reach Redis at ${redact(opts.url)}`, "check REDIS_URL and that redis-server is running");
    }
    assertNoEviction(redact(opts.url), p.policy);
    return { options, describe: redact(opts.url), private: false, found: "configured", close: async () => {} };
  }
  if (!opts.noDefaultPort) {
    const options: RedisOptions = { host: "127.0.0.1", port: 6379 };
    const p = await probe(options, 500);
    if (p) {
      assertNoEviction("127.0.0.1:6379", p.policy);
      return { options, describe: "redis://127.0.0.1:6379", private: false, found: "default-port", close: async () => {} };
    }
  }
  return startPrivateRedis(opts.dataDir, opts.log);
}

/**
 * Connection options for BullMQ (which types them against its own ioredis
 * copy); workers need maxRetriesPerRequest: null.
 */
export function bullConnection(options: RedisOptions): import("bullmq").ConnectionOptions {
  return { ...options, maxRetriesPerRequest: null } as unknown as import("bullmq").ConnectionOptions;
}

/**
 * Pure: what a Redis that keeps nothing on disk can lose, or null when it
 * persists (RDB snapshots configured, or AOF on). `save` and `appendonly`
 * are its CONFIG GET answers.
 */
export function persistenceWarning(save: string, appendonly: string): string | null {
  if (save.trim() !== "" || appendonly.trim().toLowerCase() === "yes") return null;
  return (
    "Redis keeps nothing on disk (save is empty and appendonly is no): a Redis restart loses every queued and running job; " +
    "patchbench enqueues unfinished flows again from its store (redis.reconcileSec), but stage work in flight is redone. " +
    "Fix: CONFIG SET appendonly yes (and put appendonly yes in redis.conf)"
  );
}

/** Ask a Redis whether it persists (null: it does, or it would not say). */
export async function checkRedisPersistence(options: RedisOptions): Promise<string | null> {
  const client = newRedis({ ...options, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on("error", () => {
    /* reported through the rejected command */
  });
  try {
    await client.connect();
    const save = (await client.call("CONFIG", "GET", "save")) as string[];
    const aof = (await client.call("CONFIG", "GET", "appendonly")) as string[];
    return persistenceWarning(save[1] ?? "", aof[1] ?? "");
  } catch {
    // CONFIG may be renamed or forbidden on managed Redis: nothing to say then.
    return null;
  } finally {
    client.disconnect();
  }
}
