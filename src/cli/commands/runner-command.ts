import { startWorkers } from "../../workers/start-workers.ts";
import { connectQueueRedis, type GlobalFlags, loadConfigFromFlags, loggerFor } from "../context.ts";
import { waitForShutdown } from "../wait-for-shutdown.ts";

/** `patchbench runner --pool NAME`: a runner agent on a shared Redis. */
export async function runnerCommand(flags: GlobalFlags & { pool?: string }): Promise<number> {
  const config = loadConfigFromFlags(flags);
  const log = loggerFor(config);
  const pool = flags.pool ?? config.global.runner.pool;
  const shutdown = waitForShutdown(log);
  const redis = await connectQueueRedis(config, log);
  log.info({ redis: redis.describe, pool }, "runner starting");
  const workers = await startWorkers({ config, redis: redis.options, log, orchestrator: false, pool });
  const why = await shutdown;
  await workers.close();
  await redis.close();
  log.info("runner stopped");
  return why === "EPIPE" ? 141 : 0;
}
