import { z } from "zod";
import { benchSchema } from "../config/schema.ts";
import { estimateQueueStarts, type PoolFlow } from "../domain/estimate-queue-starts.ts";
import { type KernelCosts, stageSeconds } from "../domain/flow-estimate.ts";
import type { QueueState, QueueView } from "./web-view-schemas.ts";

/** What the estimate reads of a stored plan (src/queue/plan-flow.ts writes it). */
const storedPlanSchema = z.object({ stages: z.array(z.string()), bench: benchSchema });

/** Failures listed at most. */
export const MAX_FAILURES_SHOWN = 20;

export interface QueueInputs {
  state: QueueState;
  /** The store's unfinished flows, oldest first, with their tree and stored plan (JSON). */
  unfinished: readonly { id: string; status: string; createdAt: string; tree: string; plan: string }[];
  /** Kernel costs per tree, as `/bench` estimates them (benchEstimatorFor). */
  costs: ReadonlyMap<string, KernelCosts>;
  /** Flows that ended in error, newest first, with the summaries of their stages that said error. */
  errorFlows: readonly { id: string; finishedAt: string; reasons: readonly { stage: string; summary: string }[] }[];
  now: Date;
}

/**
 * Pure: the queue page's data. Each unfinished flow with stage jobs in a pool's queue gets the
 * runner time its stages left need (stageSeconds: the estimate `/bench` answers with, split by
 * stage) and an estimated start from the pool's runners (estimateQueueStarts); the words say how.
 */
export function buildQueueView(input: QueueInputs): QueueView {
  const { state, now } = input;
  const jobsOf = new Map<string, QueueState["stageJobs"]>();
  for (const j of state.stageJobs) jobsOf.set(j.flowId, [...(jobsOf.get(j.flowId) ?? []), j]);
  const poolFlows: PoolFlow[] = [];
  const usedCosts = new Set<string>();
  let unreadablePlans = 0;
  for (const f of input.unfinished) {
    const jobs = jobsOf.get(f.id);
    if (!jobs || jobs.length === 0) continue;
    let remainingSec: number | null = null;
    const plan = storedPlanSchema.safeParse(parseJson(f.plan));
    const kernels = plan.success && plan.data.stages.includes("build") ? (input.costs.get(f.tree) ?? null) : null;
    if (plan.success && (kernels !== null || !plan.data.stages.includes("build"))) {
      if (kernels) usedCosts.add(f.tree);
      remainingSec = jobs.reduce((n, j) => n + stageSeconds(j.stage, plan.data.bench, kernels), 0);
    } else unreadablePlans += 1;
    poolFlows.push({ flowId: f.id, pool: jobs[0]!.pool, remainingSec, running: jobs.some((j) => j.state === "active") });
  }
  const { starts, pools } = estimateQueueStarts(poolFlows, state.runners);
  const startOf = new Map(starts.map((s) => [s.flowId, s]));
  const words = [
    "A flow's runner time is the estimate /bench requests are answered with: the bench's runs from its plan (cells × sides × rounds up to maxRounds × runs per round × duration, warm-ups and settling included) and, for a flow that builds kernels, the two builds and the guests' boots. Apply, checks and selftests are not counted.",
    ...[...usedCosts].sort().map((tree) => {
      const c = input.costs.get(tree)!;
      return `Kernels of ${tree}: ${c.baseBuildSec} s base build, ${c.candidateBuildSec} s candidate build, ${c.bootSec} s a boot, from ${c.source}.`;
    }),
    "A flow holds one runner for all the stages it has left. An idle runner is free now, a busy one once its flow has used up its estimate; waiting flows go in order to the runner free first. Lost and stopped runners take nothing: a pool with no runner up has no estimated start.",
    ...(unreadablePlans > 0 ? [`${unreadablePlans} flow(s) whose plan could not be read are counted as 0 s.`] : []),
  ];
  return {
    state,
    now: now.toISOString(),
    unfinished: input.unfinished.map((f, i) => {
      const s = startOf.get(f.id);
      return {
        position: i + 1,
        id: f.id,
        status: f.status,
        createdAt: f.createdAt,
        pool: s?.pool ?? null,
        running: s?.running ?? false,
        poolPosition: s?.position ?? null,
        remainingSec: s?.remainingSec ?? null,
        startsAt: s && s.startInSec !== null ? new Date(now.getTime() + s.startInSec * 1000).toISOString() : null,
      };
    }),
    unfinishedTotal: input.unfinished.length,
    pools,
    estimateWords: words,
    failures: failuresOf(state, input.errorFlows),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Flows whose stage jobs failed (the queue's reason) or that ended in error (the store's), one line each, newest first. */
function failuresOf(state: QueueState, errorFlows: QueueInputs["errorFlows"]): QueueView["failures"] {
  const out = new Map<string, QueueView["failures"][number]>();
  for (const j of state.failedJobs) {
    if (out.has(j.flowId)) continue;
    out.set(j.flowId, { flowId: j.flowId, stage: j.stage, reason: `${j.reason} (after ${j.attempts} attempt(s))`, at: j.failedAt });
  }
  for (const f of errorFlows) {
    if (out.has(f.id)) continue;
    const first = f.reasons[0];
    out.set(f.id, {
      flowId: f.id,
      stage: first?.stage ?? null,
      reason: first ? (first.summary.split("\n")[0] ?? "") : "the flow ended in error: a stage job failed (its report says which)",
      at: f.finishedAt,
    });
  }
  return [...out.values()].sort((a, b) => (b.at ?? "").localeCompare(a.at ?? "")).slice(0, MAX_FAILURES_SHOWN);
}
