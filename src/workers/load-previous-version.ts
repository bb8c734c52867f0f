import type { Series } from "../domain/series.ts";
import { summarizeVersion, hasResults, type VersionSummary } from "../report/version-summary.ts";
import { getFlow, listFlowsOfSeries } from "../store/flow-repository.ts";
import type { Db } from "../store/open-store.ts";
import { listStageResults, listVerdicts } from "../store/result-repository.ts";
import { getSeries } from "../store/series-repository.ts";
import { benchCellView } from "../web/build-web-views.ts";

/** Earlier versions looked at, at most (a loop in stored data ends here too). */
const MAX_VERSIONS = 20;

/**
 * The newest earlier version of `series` that ran, as its latest finished flow left it
 * (stage statuses and the stored verdicts, read as the dashboard reads them); null when none did.
 * A version whose flows never finished, or finished without running a stage, is passed over.
 */
export async function loadPreviousVersion(db: Db, series: Series): Promise<VersionSummary | null> {
  const seen = new Set([series.id]);
  let id = series.previousVersion;
  for (let n = 0; id && !seen.has(id) && n < MAX_VERSIONS; n++) {
    seen.add(id);
    const prev = await getSeries(db, id);
    if (!prev) return null;
    // Its newest finished flow that ran something (a withdrawn re-run finished with nothing).
    for (const flowId of [...(await listFlowsOfSeries(db, prev.id))].reverse()) {
      if (!(await getFlow(db, flowId))?.finishedAt) continue;
      const { results } = await listStageResults(db, flowId);
      const summary = summarizeVersion(prev.version, results, (await listVerdicts(db, flowId)).map(benchCellView));
      if (hasResults(summary)) return summary;
    }
    id = prev.previousVersion;
  }
  return null;
}
