import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { inputError } from "../../lib/errors.ts";
import { planReproBundle } from "../../report/plan-repro-bundle.ts";
import { getFlow } from "../../store/flow-repository.ts";
import { isPostgresUrl, openStore } from "../../store/open-store.ts";
import { listSamples, listStageResults } from "../../store/result-repository.ts";
import { getRawMailsById, getSeries } from "../../store/series-repository.ts";
import { TOOL } from "../../workers/build-flow-report.ts";
import { type GlobalFlags, loadConfigFromFlags } from "../context.ts";

/** `patchbench bundle <flow-id>`: write a flow's reproduction bundle into a new folder. */
export async function bundleCommand(flowId: string, flags: GlobalFlags, opts: { out?: string }): Promise<number> {
  const config = loadConfigFromFlags(flags);
  const path = config.paths.store;
  const out = resolve(opts.out ?? `bundle-${flowId}`);
  if (existsSync(out) && readdirSync(out).length > 0) throw inputError(`${out} exists and is not empty`, "name a new folder with --out");
  // Reading only: opening a store that is not there would create an empty one.
  if (path !== ":memory:" && !isPostgresUrl(path) && !existsSync(path)) throw inputError(`no store at ${path}: no flow ${flowId} here`);
  const db = await openStore(path);
  try {
    const flow = await getFlow(db, flowId);
    if (!flow) throw inputError(`no flow ${flowId} in the store`, "flow ids are in each report's last line (\"report flow-…\")");
    const series = await getSeries(db, flow.seriesId);
    if (!series) throw inputError(`flow ${flowId} names series ${flow.seriesId}, which is not in the store`);
    const stored = await listStageResults(db, flowId);
    const bundle = planReproBundle({
      flow: { id: flow.id, tree: flow.tree, base: flow.base, status: flow.status, createdAt: flow.createdAt, finishedAt: flow.finishedAt },
      series,
      rawMails: await getRawMailsById(db, [...(series.cover ? [series.cover.messageId] : []), ...series.patches.map((p) => p.messageId)]),
      results: stored.results,
      resultErrors: stored.errors,
      samples: await listSamples(db, flowId),
      tool: TOOL,
      createdAt: new Date().toISOString(),
    });
    // Written aside, then renamed: never half a bundle under the asked name.
    const tmp = join(dirname(out), `.${flowId}.tmp-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    for (const f of bundle.files) writeFileSync(join(tmp, f.path), f.content);
    if (existsSync(out)) rmSync(out, { recursive: true });
    renameSync(tmp, out);
    process.stdout.write(`${out}: ${bundle.files.length} files (${bundle.files.map((f) => f.path).join(", ")})\n`);
    for (const g of bundle.gaps) process.stdout.write(`  not in it: ${g}\n`);
    return 0;
  } finally {
    await db.destroy();
  }
}
