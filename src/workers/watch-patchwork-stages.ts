import { type ConnectionOptions, QueueEvents } from "bullmq";
import type { Config } from "../config/schema.ts";
import { STAGES, type Stage } from "../domain/results.ts";
import { deliverPatchworkPending, deliverPatchworkWithdrawn } from "../deliver/patchwork/deliver-patchwork.ts";
import type { Logger } from "../lib/logger.ts";
import { poolQueue } from "../queue/queue-names.ts";
import { getFlow } from "../store/flow-repository.ts";
import type { Db } from "../store/open-store.ts";
import { getSeries } from "../store/series-repository.ts";

/**
 * Patchwork `pending` when a runner takes a stage of a flow (the job id is
 * `<flowId>-<stage>`), as GitHub check runs go in_progress
 * (serve-github-app.ts). Nothing is watched unless patchwork.enabled.
 */
export function watchPatchworkStages(deps: {
  config: Config;
  db: Db;
  log: Logger;
  connection: ConnectionOptions;
  deliver?: typeof deliverPatchworkPending;
}): { ready(): Promise<void>; close(): Promise<void> } {
  const { config } = deps;
  if (!config.global.patchwork.enabled) return { ready: async () => {}, close: async () => {} };
  const prefix = config.global.redis.prefix;
  const watchers: QueueEvents[] = [];
  const posting = new Set<Promise<void>>();
  for (const pool of new Set(config.trees.map((t) => t.pool))) {
    const qe = new QueueEvents(poolQueue(pool), { connection: deps.connection, prefix });
    qe.on("active", ({ jobId }) => {
      const m = /^(.+)-([a-z]+)$/.exec(jobId);
      const stage = m?.[2] as Stage | undefined;
      if (!m || !stage || !STAGES.includes(stage)) return;
      const flowId = m[1]!;
      const p = (async () => {
        const flow = await getFlow(deps.db, flowId);
        // A flow already reported (a stage that ended at once) keeps its final checks.
        if (!flow || flow.finishedAt) return;
        const series = await getSeries(deps.db, flow.seriesId);
        if (!series) return;
        await (deps.deliver ?? deliverPatchworkPending)({ db: deps.db, config, log: deps.log }, { flowId, series, stage });
        // Withdrawn while the pending was in flight: the withdrawal's own ending may have come first.
        const now = await getFlow(deps.db, flowId);
        if (now?.finishedAt && (now.status === "superseded" || now.status === "cancelled")) {
          await deliverPatchworkWithdrawn({ db: deps.db, config, log: deps.log }, { flowId, series, why: now.status });
        }
      })()
        .catch((e: unknown) => deps.log.warn({ err: e, flowId }, "could not post the pending patchwork check"))
        .finally(() => posting.delete(p));
      posting.add(p);
    });
    watchers.push(qe);
  }
  return {
    async ready() {
      await Promise.all(watchers.map((w) => w.waitUntilReady()));
    },
    async close() {
      await Promise.all(watchers.map((w) => w.close()));
      // Posts in flight finish before the store they read is closed, for 10 s at most
      // (one waiting out a 429 is left behind; the report ends the stage anyway).
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...posting]), new Promise((r) => (timer = setTimeout(r, 10_000)))]);
      clearTimeout(timer);
    },
  };
}
