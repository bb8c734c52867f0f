import type { FlowProducer } from "bullmq";
import { benchSchema, type Config } from "../config/schema.ts";
import type { Logger } from "../lib/logger.ts";
import { enqueueFlow } from "../queue/enqueue-flow.ts";
import { planFlow } from "../queue/plan-flow.ts";
import { getCursor } from "../store/cursor-repository.ts";
import { getFlow } from "../store/flow-repository.ts";
import type { Db } from "../store/open-store.ts";
import { getRawMailsById, getSeries } from "../store/series-repository.ts";
import { tipOfPlan } from "./load-tree-history.ts";

/**
 * A finished flow's series run again as a fresh flow (`-rerun-<time>`), planned as `review
 * --rerun` plans: the tree's current config, with the stored plan's own bench (a /bench matrix
 * stays that matrix), tip and origin. Its report follows the mail policy; no request is answered.
 */
export async function rerunFlow(deps: { db: Db; flows: FlowProducer; config: Config; log: Logger; now?: () => number }, flowId: string): Promise<string> {
  const flow = await getFlow(deps.db, flowId);
  if (!flow) return `no run ${flowId}`;
  if (flow.finishedAt === null) return `${flowId} has not finished (${flow.status}); nothing to run again`;
  const series = await getSeries(deps.db, flow.seriesId);
  if (!series) return `${flowId} names series ${flow.seriesId}, which is not in the store`;
  const tree = deps.config.trees.find((t) => t.name === flow.tree);
  if (!tree) return `${flowId} ran on tree ${flow.tree}, which is not configured now`;
  const installation = await getCursor(deps.db, "installation", "id");
  if (!installation) return "this store has no installation id yet (no flow was planned through it)";
  const plan = (() => {
    try {
      return JSON.parse(flow.plan) as { bench?: unknown; origin?: unknown };
    } catch {
      return {};
    }
  })();
  const bench = benchSchema.safeParse(plan.bench);
  const raw = await getRawMailsById(deps.db, series.patches.map((p) => p.messageId));
  const missing = series.patches.filter((p) => !raw.has(p.messageId));
  if (missing.length > 0) return `the raw mail of ${missing.length} patch(es) is not in the store; ${flowId} cannot be run again`;
  const tip = tipOfPlan(flow.plan);
  const origin = typeof plan.origin === "string" ? plan.origin : undefined;
  const next = planFlow({
    series,
    raw,
    tree: origin ? { ...tree, path: origin } : tree,
    installationId: installation,
    caps: deps.config.global.ingest,
    rerun: (deps.now ?? Date.now)().toString(36),
    ...(bench.success ? { bench: bench.data } : {}),
    ...(origin ? { origin } : {}),
    ...(tip ? { tip } : {}),
  });
  const { flowId: id } = await enqueueFlow({ db: deps.db, flows: deps.flows, log: deps.log }, next);
  deps.log.info({ flowId: id, of: flowId, by: "dashboard" }, "run again");
  return `${flowId} runs again as ${id}`;
}
