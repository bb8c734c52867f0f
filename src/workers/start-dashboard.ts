import { join } from "node:path";
import type { RedisOptions } from "ioredis";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../lib/logger.ts";
import type { Db } from "../store/open-store.ts";
import { MIN_ADMIN_TOKEN } from "../web/parse-admin-request.ts";
import { createAdminActions } from "./admin-actions.ts";
import { createQueueStateReader, flowPools } from "./read-queue-state.ts";
import { serveWeb, type WebServer, type WebStore } from "./serve-web.ts";

/** The environment variable holding the admin token (never a file: like every secret). */
export const ADMIN_TOKEN_ENV = "PATCHBENCH_WEB_ADMIN_TOKEN";

/**
 * The dashboard with its queue view, as `patchbench start` and `patchbench web` run it.
 * `required: false` (the service): a port already taken is logged and costs the pages only.
 */
export async function startDashboard(opts: {
  config: Config;
  /** The store, or a getter giving null while it is opened and migrated (`patchbench web` listens meanwhile, answering 503). */
  db: WebStore;
  log: Logger;
  /** The queue's Redis; null: pages without queue state. */
  redis: RedisOptions | null;
  host?: string;
  port?: number;
  required: boolean;
}): Promise<WebServer | null> {
  const { config, log } = opts;
  const web = config.global.web;
  const host = opts.host ?? web.host;
  const port = opts.port ?? web.port;
  const queue = opts.redis
    ? createQueueStateReader({
        redis: opts.redis,
        prefix: config.global.redis.prefix,
        pools: flowPools(config),
      })
    : null;
  // Admin forms need the token (from the environment only) and the queue they act on.
  const token = process.env[ADMIN_TOKEN_ENV] ?? "";
  if (token !== "" && token.length < MIN_ADMIN_TOKEN) log.warn(`${ADMIN_TOKEN_ENV} is shorter than ${MIN_ADMIN_TOKEN} characters: admin actions stay off`);
  const redis = opts.redis;
  const storeNow = typeof opts.db === "function" ? opts.db : () => opts.db as Db;
  // Made at the first action: the server answers 503 before any action while the store is not open.
  let actions: ReturnType<typeof createAdminActions> | null = null;
  const admin =
    token.length >= MIN_ADMIN_TOKEN && redis
      ? {
          token,
          publicUrl: web.publicUrl,
          perform: (a: Parameters<ReturnType<typeof createAdminActions>["perform"]>[0]) => {
            const db = storeNow();
            if (!db) throw new Error("the store is not open yet");
            actions ??= createAdminActions({ db, redis, prefix: config.global.redis.prefix, log, config });
            return actions.perform(a);
          },
        }
      : null;
  try {
    const server = await serveWeb({
      db: opts.db,
      log,
      host,
      port,
      publicUrl: web.publicUrl,
      allowedHosts: web.allowedHosts,
      trees: config.trees.map((t) => t.name),
      // A runner on this host keeps flows' whole logs here (until runner.artifactsKeepDays); elsewhere the folder is absent.
      artifactsDir: join(config.paths.workDir, "artifacts"),
      historyTrees: config.trees.filter((t) => t.history.enabled).map((t) => t.name),
      ...(queue ? { queue } : {}),
      ...(admin ? { admin } : {}),
    });
    log.info({ url: server.url, publicUrl: web.publicUrl, admin: admin !== null }, "dashboard listening");
    return {
      url: server.url,
      async close() {
        await server.close();
        await queue?.close();
        await actions?.close();
      },
    };
  } catch (e) {
    // No admin action can have run: the server never listened.
    await queue?.close();
    if (opts.required) throw e;
    log.error({ err: e, host, port }, "dashboard not started");
    return null;
  }
}
