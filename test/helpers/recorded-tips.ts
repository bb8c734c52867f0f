import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { StoredTip } from "../../src/history/build-tree-history.ts";
import { buildFlowReport, resultsOfStoredFlow, type StoredFlow } from "../../src/workers/build-flow-report.ts";
import { PROJECT_ROOT } from "./fixtures.ts";

/** A real kernel A/B job (test/data/kernel-ab/feature-flow.json): its results and analysed cells stand for each tip's job. */
const recorded = JSON.parse(readFileSync(join(PROJECT_ROOT, "test", "data", "kernel-ab", "feature-flow.json"), "utf8")) as StoredFlow;
export const tipResults = resultsOfStoredFlow(recorded);
const { analysis } = buildFlowReport({ flowId: recorded.flowId, series: recorded.series, results: tipResults, errors: [], generatedAt: recorded.generatedAt });
export const tipCells = (analysis?.cells ?? []).map((c) => ({ cell: c.key, analysis: c.analysis }));

/** A 40-character commit id of one repeated character. */
export const sha = (c: string) => c.repeat(40);

/** Tip n (day n of December), measured `base` → `head` by the recorded job unless `over` says otherwise. */
export const recordedTip = (n: number, base: string, head: string, over: Partial<StoredTip> = {}): StoredTip => ({
  flowId: `flow-tip-${n}`,
  status: "pass",
  createdAt: `2026-12-0${n}T06:00:00.000Z`,
  finishedAt: `2026-12-0${n}T06:40:00.000Z`,
  tip: { base, head },
  results: tipResults,
  cells: tipCells,
  ...over,
});
