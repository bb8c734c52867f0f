import assert from "node:assert/strict";
import { test } from "node:test";
import type { BenchData, StageResult } from "../domain/results.ts";
import type { Series } from "../domain/series.ts";
import {
  analyse,
  checkGolden,
  DELACK_FILES,
  delackApplied,
  FIXED_DATE,
  netperfDelayBench,
  seriesOf,
  TOOL,
} from "../../test/integration/mail-fixture-results.ts";
import { webSchema } from "../config/web-schema.ts";
import { runPageUrl } from "../web/run-page-url.ts";
import { buildReport } from "./build-report.ts";
import { renderCheckRun } from "./render-check-run.ts";
import { renderPrComment } from "./render-markdown.ts";
import { MAX_COLUMNS, renderText } from "./render-text.ts";
import { summarizeVersion, type VersionSummary } from "./version-summary.ts";

/**
 * "Since vN" in the reports of a newer version, from real recorded runs: v1 measured all five
 * pairs of the 20 us delay (a regression), v2 the first three (noisy: pair 1's slow runs).
 */
const DETAILS = "https://bench.example.org/runs/flow-since-v2";

async function versions() {
  const v1: Series = await seriesOf(DELACK_FILES);
  const v2: Series = { ...v1, id: `${v1.id}-v2`, version: 2, previousVersion: v1.id };
  const ran = (s: Series, id: string, bench: StageResult<BenchData>, previous: VersionSummary | null) => {
    const analysis = analyse(bench);
    const results = [delackApplied(), bench];
    const report = buildReport({ id, series: s, results, errors: [], analysis, generatedAt: FIXED_DATE, tool: TOOL, previous });
    const cells = analysis.cells.map((c) => ({ key: c.key, verdict: c.analysis.verdict, ratio: c.analysis.ratio }));
    return { report, summary: summarizeVersion(s.version, results, cells) };
  };
  return { v1, v2, ran };
}

test("v2 after a v1 that regressed: the mail, the check run and the PR comment say the regression is not confirmed (v2 is noisy), in the same words (golden)", async () => {
  const { v1, v2, ran } = await versions();
  const first = ran(v1, "flow-since-v1", netperfDelayBench(), null);
  assert.equal(first.report.since, undefined, "no earlier version: no Since section");
  assert.doesNotMatch(renderText(first.report), /Since v/);
  const second = ran(v2, "flow-since-v2", netperfDelayBench([1, 2, 3]), first.summary);
  assert.equal(second.report.since?.version, 1);
  const [line] = second.report.since?.changes ?? [];
  assert.match(line ?? "", /^the -\d+\.\d% regression that v1 had on TCP_RR container 1 B is not confirmed \(now -\d+\.\d% noisy\)$/);

  const text = renderText(second.report, { detailsUrl: DETAILS });
  for (const l of text.split("\n")) assert.ok(l.length <= MAX_COLUMNS, `over ${MAX_COLUMNS} columns: ${l}`);
  assert.match(text.replace(/\n +/g, " "), /^Since v1: - the -\d+\.\d% regression that v1 had on TCP_RR container 1 B is not confirmed \(now -\d+\.\d% noisy\)$/m);
  assert.match(text, new RegExp(`^Details: ${DETAILS}\\n\\n--\\n`, "m"));
  checkGolden("mail-since-v1.txt", text);

  const run = renderCheckRun(second.report, { detailsUrl: DETAILS });
  assert.ok(run.summary.includes(`**Since v1**:\n\n- ${line!.slice(0, line!.indexOf(" regression"))} regression`), run.summary);
  checkGolden("check-run-summary-since-v1.md", run.summary);
  const comment = renderPrComment(second.report, { marker: "patchbench:flow-since-v2", detailsUrl: DETAILS });
  assert.ok(comment.includes("**Since v1**:"));
  checkGolden("pr-comment-since-v1.md", comment);
});

test("a v2 whose verdicts match v1's says so in one line; a v2 refused before any stage ran has no Since section", async () => {
  const { v1, v2, ran } = await versions();
  const first = ran(v1, "flow-same-v1", netperfDelayBench(), null);
  const same = ran(v2, "flow-same-v2", netperfDelayBench(), first.summary).report;
  assert.deepEqual(same.since, { version: 1, changes: [] });
  assert.match(renderText(same), /^Since v1: no verdict changed\.$/m);
  assert.match(renderPrComment(same, { marker: "m" }), /^\*\*Since v1\*\*: no verdict changed\.$/m);
  const nothing = buildReport({ id: "flow-nothing", series: v2, results: [], errors: [{ stage: "apply", reason: "runner lost" }], analysis: null, generatedAt: FIXED_DATE, tool: TOOL, previous: first.summary });
  assert.equal(nothing.since, undefined);
});

test("the run page's address: only with the dashboard on and web.publicUrl set; no Details line without it", async () => {
  const web = (o: object) => webSchema.parse(o);
  assert.equal(runPageUrl(web({ publicUrl: "https://bench.example.org/pb/" }), "flow a/1"), "https://bench.example.org/pb/runs/flow%20a%2F1");
  assert.equal(runPageUrl(web({}), "f"), null);
  assert.equal(runPageUrl(web({ enabled: false, publicUrl: "https://bench.example.org" }), "f"), null);
  const { v1, ran } = await versions();
  assert.doesNotMatch(renderText(ran(v1, "f", netperfDelayBench(), null).report), /Details:/);
});
