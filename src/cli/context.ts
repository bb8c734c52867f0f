import { FlowProducer } from "bullmq";
import { loadConfig, type LoadOptions } from "../config/load-config.ts";
import type { Config } from "../config/schema.ts";
import { createLogger, type Logger } from "../lib/logger.ts";
import { bullConnection, connectRedis, queuePrefix, type RedisTarget } from "../queue/redis-connection.ts";
import { getCursor, setCursor } from "../store/cursor-repository.ts";
import { type Db, openStore } from "../store/open-store.ts";
import { randomUUID } from "node:crypto";

export interface GlobalFlags {
  config?: string;
  dataDir?: string;
  redisUrl?: string;
  logLevel?: string;
}

export function loadConfigFromFlags(flags: GlobalFlags): Config {
  const opts: LoadOptions = { configDir: flags.config, flags: {} };
  if (flags.dataDir) opts.flags!.dataDir = flags.dataDir;
  if (flags.redisUrl) opts.flags!.redisUrl = flags.redisUrl;
  if (flags.logLevel) opts.flags!.logLevel = flags.logLevel;
  return loadConfig(opts);
}

export function loggerFor(config: Config): Logger {
  return createLogger({ level: config.global.logLevel });
}

/** The installation id distinguishes data dirs sharing one Redis (job ids stay unique). */
export async function installationId(db: Db): Promise<string> {
  const have = await getCursor(db, "installation", "id");
  if (have) return have;
  const id = randomUUID().replace(/-/g, "").slice(0, 12);
  await setCursor(db, "installation", "id", id);
  return id;
}

export interface Services {
  config: Config;
  log: Logger;
  db: Db;
  redis: RedisTarget;
  flows: FlowProducer;
  installationId: string;
  close(): Promise<void>;
}

/**
 * Find Redis (redis-connection.ts) and settle the key prefix every queue of
 * this process uses (`config.global.redis.prefix`): one place for the
 * orchestrator, `review` and `runner`.
 */
export async function connectQueueRedis(config: Config, log: Logger): Promise<RedisTarget> {
  const redis = await connectRedis({ url: config.global.redis.url, dataDir: config.paths.dataDir, log });
  const prefix = queuePrefix(config.global.redis.prefix, redis.found, config.paths.dataDir);
  if (prefix !== config.global.redis.prefix) {
    log.info({ redis: redis.describe, prefix }, "Redis on the default port is shared: queue keys carry this data dir's prefix (set redis.url to share queues across hosts)");
    config.global.redis.prefix = prefix;
  }
  return redis;
}

/** Open the store and the queue connection (the orchestrator's side). */
export async function openServices(config: Config, log: Logger): Promise<Services> {
  const redis = await connectQueueRedis(config, log);
  let db: Db;
  try {
    db = await openStore(config.paths.store);
  } catch (e) {
    await redis.close();
    throw e;
  }
  const flows = new FlowProducer({ connection: bullConnection(redis.options), prefix: config.global.redis.prefix });
  const id = await installationId(db);
  return {
    config,
    log,
    db,
    redis,
    flows,
    installationId: id,
    async close() {
      await flows.close();
      await db.destroy();
      await redis.close();
    },
  };
}
