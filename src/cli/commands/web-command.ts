import { PatchbenchError } from "../../lib/errors.ts";
import { describeStore } from "../../store/open-store.ts";
import { openStoreInBackground } from "../../workers/open-store-in-background.ts";
import { startDashboard } from "../../workers/start-dashboard.ts";
import { connectQueueRedis, type GlobalFlags, loadConfigFromFlags, loggerFor } from "../context.ts";
import { waitForShutdown } from "../wait-for-shutdown.ts";

/**
 * `patchbench web`: the dashboard alone, against the configured store and the queue's Redis
 * (e.g. on another host than the service). Without Redis the pages still work, the queue
 * page says why it is empty. It listens before the store is open: while another process
 * migrates the store, every page answers 503 with Retry-After. Stops on SIGINT/SIGTERM.
 */
export async function webCommand(flags: GlobalFlags & { host?: string; port?: string }): Promise<number> {
  const config = loadConfigFromFlags(flags);
  const log = loggerFor(config);
  const shutdown = waitForShutdown(log);
  const port = flags.port === undefined ? config.global.web.port : /^\d{1,5}$/.test(flags.port) ? Number(flags.port) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) throw new PatchbenchError("input", `--port ${flags.port}: a port number from 0 to 65535`);
  const store = openStoreInBackground(config.paths.store, log);
  const redis = await connectQueueRedis(config, log).catch((e: unknown) => {
    log.warn({ err: e }, "no Redis: the dashboard runs without queue state");
    return null;
  });
  try {
    const web = await startDashboard({ config, db: store.current, log, redis: redis?.options ?? null, ...(flags.host ? { host: flags.host } : {}), port, required: true });
    if (!web) return 1;
    log.info({ store: describeStore(config.paths.store) }, "dashboard serving the store");
    process.stdout.write(`dashboard: ${web.url}\n`);
    // A store that cannot be opened for good (not merely locked or away) ends the command as before.
    let why: Awaited<typeof shutdown>;
    try {
      why = await Promise.race([shutdown, store.opened.then(() => shutdown)]);
    } finally {
      await web.close();
    }
    return why === "EPIPE" ? 141 : 0;
  } finally {
    await redis?.close();
    await store.close();
  }
}
