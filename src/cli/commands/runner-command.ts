import { configError } from "../../lib/errors.ts";
import { doctorUnfit, formatDoctor } from "../../runner/doctor/plan-doctor.ts";
import { startWorkers } from "../../workers/start-workers.ts";
import { examineBox } from "./runner-doctor-command.ts";
import { connectQueueRedis, type GlobalFlags, loadConfigFromFlags, loggerFor } from "../context.ts";
import { waitForShutdown } from "../wait-for-shutdown.ts";

/** `patchbench runner --pool NAME`: a runner agent on a shared Redis. */
export async function runnerCommand(flags: GlobalFlags & { pool?: string }): Promise<number> {
  const config = loadConfigFromFlags(flags);
  const log = loggerFor(config);
  const pool = flags.pool ?? config.global.runner.pool;
  // The doctor's checks first: a bench-grade pool (runner.requireTuned) takes no job on an untuned box.
  const { checks, profile } = await examineBox(config, pool);
  const notOk = checks.filter((c) => c.status !== "ok");
  if (doctorUnfit(checks)) {
    process.stderr.write(formatDoctor(checks, config.global.runner.requireTuned));
    throw configError(`this box is unfit for pool ${pool}: ${notOk.filter((c) => c.status === "fail").map((c) => c.name).join(", ")}`, "fix the FAIL lines above (`patchbench runner doctor`)");
  }
  if (notOk.length > 0) log.warn({ warn: notOk.map((c) => `${c.name}: ${c.seen}`) }, "runner doctor: numbers from this box are relative to it only");
  const shutdown = waitForShutdown(log);
  const redis = await connectQueueRedis(config, log);
  log.info({ redis: redis.describe, pool }, "runner starting");
  const count = (st: string) => checks.filter((c) => c.status === st).length;
  const doctor = { ok: count("ok"), warn: count("warn"), fail: count("fail") };
  const workers = await startWorkers({ config, redis: redis.options, log, orchestrator: false, pool, doctor, machineProfile: profile });
  const why = await shutdown;
  await workers.close();
  await redis.close();
  log.info("runner stopped");
  return why === "EPIPE" ? 141 : 0;
}
