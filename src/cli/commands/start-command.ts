import { serveGithubApp } from "../../bot/serve-github-app.ts";
import { readGithubAppSettings } from "../../deliver/github/github-app-settings.ts";
import { drainOutbox } from "../../deliver/deliver-mail.ts";
import { listUnsentMail } from "../../store/delivery-repository.ts";
import { Queue } from "bullmq";
import { ORCHESTRATOR_QUEUE } from "../../queue/queue-names.ts";
import { reconcileFlows } from "../../queue/reconcile-flows.ts";
import { bullConnection, checkRedisPersistence, newRedis } from "../../queue/redis-connection.ts";
import { sourceLabel } from "../../workers/mail-poller.ts";
import { startMailPolling } from "../../workers/start-mail-polling.ts";
import { startSourceLeases } from "../../workers/source-leases.ts";
import { historyLabel, startHistory } from "../../workers/start-history.ts";
import { TOOL } from "../../workers/build-flow-report.ts";
import { startWorkers } from "../../workers/start-workers.ts";
import { watchPatchworkStages } from "../../workers/watch-patchwork-stages.ts";
import { describeStore } from "../../store/open-store.ts";
import { type GlobalFlags, loadConfigFromFlags, loggerFor, openServices } from "../context.ts";
import { waitForShutdown } from "../wait-for-shutdown.ts";

/**
 * `patchbench start`: the all-in-one service — mail pollers, the
 * orchestrator and a local runner agent in one process.
 */
export async function startCommand(flags: GlobalFlags & { runner?: boolean }): Promise<number> {
  const config = loadConfigFromFlags(flags);
  const log = loggerFor(config);
  const shutdown = waitForShutdown(log);
  const services = await openServices(config, log);
  log.info({ redis: services.redis.describe, store: describeStore(config.paths.store), sources: config.global.sources.length }, "patchbench starting");
  const volatile = await checkRedisPersistence(services.redis.options);
  if (volatile) log.warn({ redis: services.redis.describe }, volatile);
  // The store is the record of flows: give Redis back those it lost, now and on a timer.
  const orchestrator = new Queue(ORCHESTRATOR_QUEUE, { connection: bullConnection(services.redis.options), prefix: config.global.redis.prefix });
  const reconcile = () => reconcileFlows({ db: services.db, flows: services.flows, orchestrator, log }).catch((e: unknown) => log.error({ err: e }, "store/queue reconcile failed"));
  await reconcile();
  let reconciling: Promise<unknown> = Promise.resolve();
  const reconcileTimer = setInterval(() => {
    reconciling = reconciling.then(reconcile);
  }, config.global.redis.reconcileSec * 1000);
  const workers = await startWorkers({
    config,
    redis: services.redis.options,
    log,
    db: services.db,
    orchestrator: true,
    pool: flags.runner === false ? null : config.global.runner.pool,
  });
  // The dashboard, when web.enabled; a port already taken costs the pages, not the service.
  const web = config.global.web.enabled
    ? await (await import("../../workers/start-dashboard.ts")).startDashboard({ config, db: services.db, log, redis: services.redis.options, required: false })
    : null;
  // The GitHub App, when github.enabled: webhooks in, check runs and /bench out.
  const githubApp = config.global.github.enabled
    ? await serveGithubApp({
        config,
        settings: readGithubAppSettings(config.global.github),
        db: services.db,
        flows: services.flows,
        redis: services.redis.options,
        log,
        installationId: services.installationId,
      })
    : null;
  // Patchwork, when patchwork.enabled: a stage a runner takes is pending on the series' patches there.
  const patchworkStages = watchPatchworkStages({ config, db: services.db, log, connection: bullConnection(services.redis.options) });
  let stopped = false;
  // Mail sources: each polled by one orchestrator at a time (several may share this Redis and store).
  const leaseRedis = newRedis({ ...services.redis.options, maxRetriesPerRequest: 1 });
  const leases = await startSourceLeases({
    redis: leaseRedis,
    prefix: config.global.redis.prefix,
    db: services.db,
    log,
    sources: [
      ...config.global.sources.map((s) => ({ label: sourceLabel(s), intervalSec: s.intervalSec })),
      ...config.trees.filter((t) => t.history.enabled).map((t) => ({ label: historyLabel(t.name), intervalSec: t.history.checkEverySec })),
    ],
    version: TOOL.version,
  });
  // One timer per source, backoff on failure, superseded versions' queued flows removed.
  const polling = startMailPolling({ ...services, redis: services.redis.options, leases });
  // Tree history: each tree's tip measured on its schedule, by the holder of its lease.
  const historyTrees = config.trees.filter((t) => t.history.enabled);
  const history = historyTrees.length > 0 ? startHistory({ ...services, leases, everySec: Math.min(...historyTrees.map((t) => t.history.checkEverySec)) }) : null;
  // The outbox drain: mail whose sending failed (SMTP down) or was cut by a crash is retried here.
  const drainState = new Map<string, number>();
  let draining: Promise<unknown> = Promise.resolve();
  const mail = config.global.mail;
  const drainTimer = mail.dryRun
    ? null
    : setInterval(() => {
        if (stopped) return;
        draining = listUnsentMail(services.db)
          .then((rows) =>
            rows.length === 0
              ? undefined
              : drainOutbox(
                  { db: services.db, log },
                  { dryRun: false, outboxDir: config.paths.outboxDir, smtp: { ...mail.smtp, password: config.secrets.smtpPassword } },
                  mail.from,
                  rows,
                  drainState,
                ),
          )
          .catch((e: unknown) => log.error({ err: e }, "outbox drain failed"));
      }, 30_000);
  log.info("patchbench running; SIGINT/SIGTERM to stop");
  const why = await shutdown;
  stopped = true;
  if (drainTimer) clearInterval(drainTimer);
  clearInterval(reconcileTimer);
  await reconciling;
  await orchestrator.close();
  await polling.close();
  await history?.close();
  await leases.close();
  leaseRedis.disconnect();
  await draining;
  await web?.close();
  await patchworkStages.close();
  await githubApp?.close();
  await workers.close();
  await services.close();
  log.info("patchbench stopped");
  return why === "EPIPE" ? 141 : 0;
}
