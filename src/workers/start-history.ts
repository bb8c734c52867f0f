import type { FlowProducer } from "bullmq";
import { benchEstimatorFor } from "../commands/bench-estimator.ts";
import type { Config, TreeConfig } from "../config/schema.ts";
import { tipSeries } from "../domain/tree-tip.ts";
import { planHistoryRun } from "../history/plan-history-run.ts";
import { git as defaultGit, type Git } from "../lib/git.ts";
import type { Logger } from "../lib/logger.ts";
import { enqueueFlow } from "../queue/enqueue-flow.ts";
import { planFlow } from "../queue/plan-flow.ts";
import type { Db } from "../store/open-store.ts";
import { listVerdicts } from "../store/result-repository.ts";
import { saveSeries } from "../store/series-repository.ts";
import { listTipFlows } from "../store/tip-flow-repository.ts";
import { tipOfPlan } from "./load-tree-history.ts";
import type { SourceLeases } from "./source-leases.ts";

/** The lease label of a tree's history: one orchestrator at a time plans its tips. */
export function historyLabel(tree: string): string {
  return `history:${tree}`;
}

/**
 * A tree's branch tip as the orchestrator can read it: from a local repository with its first
 * parent and subject, else from the origin's refs (`git ls-remote`: the commit only).
 */
export async function readTip(tree: Pick<TreeConfig, "url" | "path" | "branch">, git: Git = defaultGit): Promise<{ head: string; parent: string | null; subject: string | null } | null> {
  const ref = `refs/heads/${tree.branch}`;
  if (tree.path) {
    const r = await git(["log", "-1", "--format=%H%x00%P%x00%s", "--end-of-options", ref], { repo: tree.path, okCodes: "any", timeoutMs: 30_000 });
    if (r.code !== 0) return null;
    const [head, parents, subject] = r.stdout.trim().split("\0");
    return head ? { head, parent: parents?.split(" ")[0] || null, subject: subject ?? null } : null;
  }
  const r = await git(["ls-remote", "--", tree.url, ref], { okCodes: "any", timeoutMs: 60_000 });
  const head = r.code === 0 ? /^([0-9a-f]{40})\s/.exec(r.stdout)?.[1] : undefined;
  return head ? { head, parent: null, subject: null } : null;
}

export interface HistoryDeps {
  config: Config;
  db: Db;
  flows: FlowProducer;
  log: Logger;
  installationId: string;
  /** Several orchestrators: only the holder of a tree's history lease plans its tips. */
  leases?: SourceLeases;
  git?: Git;
  now?: () => Date;
}

/** What the loop remembers between rounds: when each tree was last read, and the last reason said. */
export interface HistoryMemory {
  said: Map<string, string>;
  readAt: Map<string, number>;
}

export function historyMemory(): HistoryMemory {
  return { said: new Map(), readAt: new Map() };
}

/** One round over the trees with history on: read each tip that is due, decide (planHistoryRun), enqueue a tip flow. */
export async function historyRound(deps: HistoryDeps, memory: HistoryMemory): Promise<string[]> {
  const { said } = memory;
  const queued: string[] = [];
  const now = (deps.now ?? (() => new Date()))();
  for (const tree of deps.config.trees.filter((t) => t.history.enabled)) {
    const holds = () => !deps.leases || deps.leases.fence(historyLabel(tree.name)) !== null;
    if (!holds()) continue;
    // Each tree at its own pace (the loop runs at the fastest tree's).
    if (now.getTime() - (memory.readAt.get(tree.name) ?? Number.NEGATIVE_INFINITY) < tree.history.checkEverySec * 1000) continue;
    memory.readAt.set(tree.name, now.getTime());
    const tip = await readTip(tree, deps.git);
    const flows = await listTipFlows(deps.db, tree.name);
    const newest = flows.at(-1);
    const lastTip = newest ? tipOfPlan(newest.plan) : null;
    const dayAgo = now.getTime() - 24 * 3_600_000;
    let lastMeasured: string | null = null;
    for (const f of [...flows].reverse()) {
      const t = tipOfPlan(f.plan);
      if (t && f.finishedAt !== null && (await listVerdicts(deps.db, f.id)).length > 0) {
        lastMeasured = t.head;
        break;
      }
    }
    const estimateSec = (await benchEstimatorFor(deps.db, tree.name, lastMeasured)).estimateSeconds(tree.bench, true);
    const decision = planHistoryRun(tree.history, {
      now,
      tip,
      last: newest && lastTip ? { head: lastTip.head, plannedAt: newest.createdAt, finished: newest.finishedAt !== null } : null,
      lastMeasured,
      spentSec: flows.filter((f) => Date.parse(f.createdAt) >= dayAgo).length * estimateSec,
      estimateSec,
    });
    if (!decision.run) {
      // Said once per change of reason: a quiet tree does not fill the log every minute.
      if (said.get(tree.name) !== decision.why) deps.log.info({ tree: tree.name, why: decision.why }, "history: no tip measured");
      said.set(tree.name, decision.why);
      continue;
    }
    said.delete(tree.name);
    // The lease may have moved while the tip was read: only its holder extends the chain.
    if (!holds()) continue;
    const series = tipSeries({ tree: tree.name, base: decision.base, head: decision.head, subject: tip?.subject ?? "tip", seenAt: now.toISOString() });
    await saveSeries(deps.db, series, new Map());
    const plan = planFlow({ series, raw: new Map(), tree, installationId: deps.installationId, caps: deps.config.global.ingest, tip: { base: decision.base, head: decision.head } });
    const { created, flowId } = await enqueueFlow({ db: deps.db, flows: deps.flows, log: deps.log }, plan);
    if (created) {
      deps.log.info({ tree: tree.name, flowId, head: decision.head, base: decision.base, estimateSec }, `history: tip queued, ${decision.note}`);
      queued.push(flowId);
    }
  }
  return queued;
}

/** The history loop of `patchbench start`: a round now and every `everySec` (default 60 s). */
export function startHistory(deps: HistoryDeps & { everySec?: number }): { close(): Promise<void> } {
  const memory = historyMemory();
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const round = () => {
    if (stopped) return;
    running = running.then(() => historyRound(deps, memory)).catch((e: unknown) => deps.log.error({ err: e }, "history round failed"));
  };
  round();
  const timer = setInterval(round, (deps.everySec ?? 60) * 1000);
  return {
    async close() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
