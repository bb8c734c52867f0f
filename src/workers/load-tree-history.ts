import { buildTreeHistory, type StoredTip, type TreeHistory } from "../history/build-tree-history.ts";
import type { CellAnalysis } from "../stats/analyze-cell.ts";
import type { Db } from "../store/open-store.ts";
import { listStageResults, listVerdicts } from "../store/result-repository.ts";
import { listTipFlows } from "../store/tip-flow-repository.ts";

/** The tip a tip flow's plan names (null for a plan without one). */
export function tipOfPlan(plan: string): { base: string; head: string } | null {
  try {
    const t = (JSON.parse(plan) as { tip?: { base?: unknown; head?: unknown } }).tip;
    return typeof t?.base === "string" && typeof t.head === "string" ? { base: t.base, head: t.head } : null;
  } catch {
    return null;
  }
}

/** A tree's history from the store: its tip flows with their results and cells (one path for the CLI and the dashboard). */
export async function loadTreeHistory(db: Db, tree: string): Promise<TreeHistory> {
  const tips: StoredTip[] = [];
  for (const f of await listTipFlows(db, tree)) {
    const { results } = await listStageResults(db, f.id);
    const cells = (await listVerdicts(db, f.id)).map((v) => ({ cell: v.cell, analysis: JSON.parse(v.data) as CellAnalysis }));
    tips.push({ flowId: f.id, status: f.status, createdAt: f.createdAt, finishedAt: f.finishedAt, tip: tipOfPlan(f.plan), results, cells });
  }
  return buildTreeHistory(tree, tips);
}
