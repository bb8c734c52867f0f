import { existsSync } from "node:fs";
import { buildTreeHistory, type StoredTip } from "../../history/build-tree-history.ts";
import { renderTreeHistory } from "../../history/render-tree-history.ts";
import { inputError } from "../../lib/errors.ts";
import type { CellAnalysis } from "../../stats/analyze-cell.ts";
import { isPostgresUrl, openStore } from "../../store/open-store.ts";
import { listStageResults, listVerdicts } from "../../store/result-repository.ts";
import { listTipFlows } from "../../store/tip-flow-repository.ts";
import { type GlobalFlags, loadConfigFromFlags } from "../context.ts";

/** The tip a tip flow's plan names (null for a plan without one). */
function tipOfPlan(plan: string): { base: string; head: string } | null {
  try {
    const t = (JSON.parse(plan) as { tip?: { base?: unknown; head?: unknown } }).tip;
    return typeof t?.base === "string" && typeof t.head === "string" ? { base: t.base, head: t.head } : null;
  } catch {
    return null;
  }
}

/** `patchbench history <tree>`: the tree's measured tips, per machine and cell, and what moved. */
export async function historyCommand(treeName: string, flags: GlobalFlags, opts: { cell?: string; json?: boolean }): Promise<number> {
  const config = loadConfigFromFlags(flags);
  if (!config.trees.some((t) => t.name === treeName)) throw inputError(`no tree ${treeName} in the config`, `configured: ${config.trees.map((t) => t.name).join(", ")}`);
  const path = config.paths.store;
  const tips: StoredTip[] = [];
  if (path === ":memory:" || isPostgresUrl(path) || existsSync(path)) {
    const db = await openStore(path);
    try {
      for (const f of await listTipFlows(db, treeName)) {
        const { results } = await listStageResults(db, f.id);
        const cells = (await listVerdicts(db, f.id)).map((v) => ({ cell: v.cell, analysis: JSON.parse(v.data) as CellAnalysis }));
        tips.push({ flowId: f.id, status: f.status, createdAt: f.createdAt, finishedAt: f.finishedAt, tip: tipOfPlan(f.plan), results, cells });
      }
    } finally {
      await db.destroy();
    }
  }
  const history = buildTreeHistory(treeName, tips);
  if (opts.json) process.stdout.write(`${JSON.stringify(history, null, 2)}\n`);
  else process.stdout.write(renderTreeHistory(history, opts.cell === undefined ? {} : { cell: opts.cell }));
  return 0;
}
