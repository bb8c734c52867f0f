import type { Series } from "../../domain/series.ts";
import type { StageJob } from "../../queue/payloads.ts";
import { SUITES, type SuiteTarget, type TestProgsSuite } from "./registry.ts";

/** What a stage job's suites decide on: its tree and the series' subjects. */
export function suiteTargetOf(job: Pick<StageJob, "tree" | "patches">): SuiteTarget {
  return {
    tree: job.tree.name,
    series: {
      title: job.patches[0]?.subject ?? "",
      patches: job.patches.map((p) => ({ subject: p.subject })) as unknown as Series["patches"],
    },
  };
}

/** The test_progs suites of the job's `suites` that apply to its series. */
export function applyingTestProgsSuites(job: Pick<StageJob, "tree" | "patches" | "suites">): TestProgsSuite[] {
  const target = suiteTargetOf(job);
  return job.suites.flatMap((id) => {
    const s = SUITES.get(id);
    return s?.appliesTo(target) ? [s] : [];
  });
}
