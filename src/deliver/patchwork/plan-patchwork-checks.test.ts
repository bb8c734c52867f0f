import assert from "node:assert/strict";
import { test } from "node:test";
import type { Series } from "../../domain/series.ts";
import { golden } from "../../../test/helpers/golden.ts";
import { netperfFixtureReport } from "../../../test/helpers/netperf-fixture-report.ts";
import { seriesCapProblem } from "../../domain/series-caps.ts";
import { DESCRIPTION_LIMIT, fitPhrases, planPatchworkChecks, planPendingChecks, planWithdrawnChecks, patchworkStateOf } from "./plan-patchwork-checks.ts";

const series: Series = {
  id: "series-pw-1",
  source: "mail",
  title: "A sample series",
  tree: "bpf-next",
  version: 1,
  rfc: false,
  resend: false,
  total: 2,
  kind: "patch",
  cover: { messageId: "1473632524-8585-1-git-send-email-stephenfinucane@gmail.com", subject: "[PATCH 0/2] A sample series" },
  patches: [
    { index: 1, messageId: "1473632524-8585-2-git-send-email-stephenfinucane@gmail.com", subject: "[PATCH 1/2] test: Add some lorem ipsum", author: "Stephen Finucane <stephenfinucane@gmail.com>" },
    { index: 2, messageId: "1473632524-8585-3-git-send-email-stephenfinucane@gmail.com", subject: "[PATCH 2/2] test: Convert to Markdown", author: "Stephen Finucane <stephenfinucane@gmail.com>" },
  ],
  missing: [],
  complete: true,
  baseCommit: null,
  changeId: null,
  trailers: [],
  previousVersion: null,
  author: "Stephen Finucane <stephenfinucane@gmail.com>",
  date: "2016-09-11T22:22:13.000Z",
};
const patches = [
  { index: 1, patchId: 11 },
  { index: 2, patchId: 12 },
];
const opts = { prefix: "patchbench", targetUrl: "https://lore.kernel.org/all/1473632524-8585-1-git-send-email-stephenfinucane@gmail.com/" };

test("a report with a measured regression: apply success and bench warning on every patch, the numbers in the description (golden)", () => {
  const all = planPatchworkChecks(netperfFixtureReport(series), patches, opts);
  // Stages the report has nothing for are ended only where they went pending.
  assert.deepEqual(
    all.filter((c) => c.onlyOverPending).map((c) => `${c.patchId} ${c.context} ${c.description}`),
    ["11 patchbench-build not run: build did not run for this series", "12 patchbench-build not run: build did not run for this series", "11 patchbench-selftests not run: selftests did not run for this series", "12 patchbench-selftests not run: selftests did not run for this series"],
  );
  const planned = all.filter((c) => !c.onlyOverPending);
  assert.deepEqual(
    planned.map((c) => `${c.patchId} ${c.context} ${c.state}`),
    ["11 patchbench-apply success", "12 patchbench-apply success", "11 patchbench-bench warning", "12 patchbench-bench warning"],
  );
  for (const c of planned) {
    assert.match(c.context, /^[-a-zA-Z0-9_]+$/, "patchwork's context is a slug");
    assert.ok(c.description.length <= DESCRIPTION_LIMIT);
  }
  golden("patchwork-checks.txt", `${planned.filter((c) => c.patchId === 11).map((c) => `${c.context} ${c.state}: ${c.description}`).join("\n")}\n`);
});

test("infrastructure errors are warnings, never fail; skip posts nothing", () => {
  assert.equal(patchworkStateOf("error"), "warning");
  assert.equal(patchworkStateOf("fail"), "fail");
  assert.equal(patchworkStateOf("skip"), null);
  const r = netperfFixtureReport(series, { bench: false, errors: [{ stage: "build", reason: "runner lost (no heartbeat for 300 s)" }] });
  const build = planPatchworkChecks(r, patches, opts).filter((c) => c.context === "patchbench-build");
  assert.equal(build.length, 2);
  for (const c of build) {
    assert.equal(c.state, "warning");
    assert.match(c.description, /infrastructure, not the series/);
  }
});

test("descriptions over the limit say how many phrases were left out", () => {
  const phrases = Array.from({ length: 12 }, (_, i) => `TCP_RR container ${i + 1} KB -3.1% [-4.0%, -2.2%] (n=10): regression`);
  const d = fitPhrases("", phrases);
  assert.ok(d.length <= DESCRIPTION_LIMIT, `${d.length}`);
  const shown = d.split("; ").filter((p) => p.startsWith("TCP_RR")).length;
  assert.ok(d.endsWith(`+${12 - shown} more`), d);
  assert.equal(fitPhrases("", ["short"]), "short");
});

test("a target URL longer than patchwork's 200 characters is left out rather than refused", () => {
  const long = planPendingChecks(["apply"], patches, { prefix: "patchbench", targetUrl: `https://example.org/${"x".repeat(200)}` });
  assert.deepEqual(
    long.map((c) => [c.state, c.targetUrl]),
    [
      ["pending", null],
      ["pending", null],
    ],
  );
});

test("a series over a cap: every stage a runner may have marked pending is ended as not run, with the reason", () => {
  const notRun = seriesCapProblem({ patches: 2, bytes: 100 }, { maxPatches: 1, maxSeriesBytes: 1_000_000 });
  assert.ok(notRun);
  const r = { ...netperfFixtureReport(series, { bench: false }), apply: null, notRun };
  const planned = planPatchworkChecks(r, patches, opts);
  assert.deepEqual(
    [...new Set(planned.map((c) => `${c.context} ${c.state} ${c.onlyOverPending === true}`))],
    ["patchbench-apply success true", "patchbench-build success true", "patchbench-selftests success true", "patchbench-bench success true"],
  );
  for (const c of planned) assert.match(c.description, /^not run: series has 2 patches, over ingest\.maxPatches=1/);
});

test("a withdrawn flow: every stage ended as success 'not run: withdrawn', only over pending", () => {
  const planned = planWithdrawnChecks("superseded by v3", patches, opts);
  assert.equal(planned.length, 8);
  for (const c of planned) {
    assert.equal(c.state, "success");
    assert.equal(c.onlyOverPending, true);
    assert.equal(c.description, "not run: withdrawn (superseded by v3)");
  }
  assert.deepEqual([...new Set(planned.map((c) => c.context))], ["patchbench-apply", "patchbench-build", "patchbench-selftests", "patchbench-bench"]);
});
