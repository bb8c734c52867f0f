import { PatchbenchError } from "../../lib/errors.ts";
import { describeStore, openStore } from "../../store/open-store.ts";
import { serveWeb } from "../../workers/serve-web.ts";
import { type GlobalFlags, loadConfigFromFlags, loggerFor } from "../context.ts";
import { waitForShutdown } from "../wait-for-shutdown.ts";

/**
 * `patchbench web`: the dashboard alone, against the configured store (e.g. on another
 * host than the service, or while the service is stopped). Stops on SIGINT/SIGTERM.
 */
export async function webCommand(flags: GlobalFlags & { host?: string; port?: string }): Promise<number> {
  const config = loadConfigFromFlags(flags);
  const log = loggerFor(config);
  const shutdown = waitForShutdown(log);
  const port = flags.port === undefined ? config.global.web.port : Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new PatchbenchError("input", `--port ${flags.port}: a port number from 0 to 65535`);
  const db = await openStore(config.paths.store);
  try {
    const web = await serveWeb({ db, log, host: flags.host ?? config.global.web.host, port, trees: config.trees.map((t) => t.name) });
    log.info({ url: web.url, publicUrl: config.global.web.publicUrl, store: describeStore(config.paths.store) }, "dashboard listening");
    process.stdout.write(`dashboard: ${web.url}\n`);
    const why = await shutdown;
    await web.close();
    return why === "EPIPE" ? 141 : 0;
  } finally {
    await db.destroy();
  }
}
