import { existsSync } from "node:fs";
import { buildTreeHistory } from "../../history/build-tree-history.ts";
import { renderTreeHistory } from "../../history/render-tree-history.ts";
import { inputError } from "../../lib/errors.ts";
import { isPostgresUrl, openStore } from "../../store/open-store.ts";
import { loadTreeHistory } from "../../workers/load-tree-history.ts";
import { type GlobalFlags, loadConfigFromFlags } from "../context.ts";

/** `patchbench history <tree>`: the tree's measured tips, per machine and cell, and what moved. */
export async function historyCommand(treeName: string, flags: GlobalFlags, opts: { cell?: string; json?: boolean }): Promise<number> {
  const config = loadConfigFromFlags(flags);
  const tree = config.trees.find((t) => t.name === treeName);
  if (!tree) throw inputError(`no tree ${treeName} in the config`, `configured: ${config.trees.map((t) => t.name).join(", ")}`);
  const path = config.paths.store;
  let history = buildTreeHistory(treeName, []);
  // Reading only: a store that is not there would be created empty by opening it.
  if (path === ":memory:" || isPostgresUrl(path) || existsSync(path)) {
    const db = await openStore(path);
    try {
      history = await loadTreeHistory(db, treeName);
    } finally {
      await db.destroy();
    }
  }
  // A new user's first look: say why there is nothing, and what turns it on.
  if (!tree.history.enabled && history.profiles.length === 0 && history.skipped.length === 0 && history.pending.length === 0) {
    process.stderr.write(`patchbench: ${treeName}'s tip is not measured on a schedule: set history.enabled in its tree file (README "Tree history")\n`);
  }
  if (opts.json) process.stdout.write(`${JSON.stringify(history, null, 2)}\n`);
  else process.stdout.write(renderTreeHistory(history, opts.cell === undefined ? {} : { cell: opts.cell }));
  return 0;
}
