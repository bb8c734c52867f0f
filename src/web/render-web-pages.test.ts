import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { golden } from "../../test/helpers/golden.ts";
import { cellKey } from "../domain/bench.ts";
import type { Series } from "../domain/series.ts";
import { PROJECT_ROOT } from "../lib/project-root.ts";
import { reportOfStoredFlow, type StoredFlow } from "../workers/build-flow-report.ts";
import { benchSchema } from "../config/schema.ts";
import { DEFAULT_KERNEL_COSTS, stageSeconds } from "../domain/flow-estimate.ts";
import { buildQueueView } from "./build-queue-view.ts";
import { buildRunView, buildSeriesListView, buildSeriesView, type StoredVerdict } from "./build-web-views.ts";
import { escapeHtml } from "./html.ts";
import { adminReturnPath, parseAdminPath } from "./parse-admin-request.ts";
import { parseWebRequest } from "./parse-web-request.ts";
import { verdictWords } from "./verdict-words.ts";
import { renderQuarantinePage } from "./render-quarantine-page.ts";
import { renderQueuePage } from "./render-queue-page.ts";
import { renderRunPage } from "./render-run-page.ts";
import { renderSamplesCsv } from "./render-samples-csv.ts";
import { renderSeriesList } from "./render-series-list.ts";
import { renderSeriesPage } from "./render-series-page.ts";
import { quarantineViewSchema, queueViewSchema, runViewSchema, seriesListViewSchema, seriesViewSchema } from "./web-view-schemas.ts";

/**
 * The pages of a real kernel A/B flow (test/data/kernel-ab/feature-flow.json), with its verdicts
 * stored as the report job stores them: each cell's whole analysis.
 */
const flow = JSON.parse(readFileSync(join(PROJECT_ROOT, "test", "data", "kernel-ab", "feature-flow.json"), "utf8")) as StoredFlow;
const report = reportOfStoredFlow(flow);
const verdicts: StoredVerdict[] = (report.bench?.cells ?? []).map((c) => ({ cell: cellKey(c.cell), verdict: c.analysis.verdict, data: JSON.stringify(c.analysis) }));
const storedFlow = { id: flow.flowId, status: report.status, createdAt: "2026-12-01T10:00:00.000Z", finishedAt: flow.generatedAt, seriesId: flow.series.id, tree: "bpf-next", base: null };

const hostile: Series = {
  ...flow.series,
  id: "series-hostile",
  title: `<script>alert("t")</script> & "quoted" 'x'`,
  author: `"><img src=x onerror=alert(1)> <evil@example.org>`,
  cover: { messageId: `a"><svg onload=alert(2)>@example.org`, subject: "<b>cover</b>" },
  patches: flow.series.patches.map((p) => ({ ...p, subject: `${p.subject} </td><script>x()</script>` })),
  previousVersion: null,
};

test("run page of a real kernel A/B flow: stage timeline, every cell with ratio and interval, one chart point per cell (golden)", () => {
  const view = runViewSchema.parse(
    buildRunView({
      flow: storedFlow,
      series: flow.series,
      results: flow.runs,
      errors: [],
      verdicts,
      samples: flow.samples,
      apiBase: `/api/runs/${flow.flowId}`,
      // This host keeps the candidate's build log and the bench guests' consoles: those whole, the rest as stored tails.
      logFiles: {
        files: [
          { name: "build-candidate.log", bytes: 3_456_789 },
          { name: "console-bench-candidate-2.log", bytes: 20_480 },
          { name: "console-bench-candidate-1.log", bytes: 19_870 },
          { name: "console-bench-base-1.log", bytes: 19_911 },
        ],
        whole: new Set(["build-candidate.log"]),
      },
    }),
  );
  assert.ok(view.cells.length > 0);
  for (const [i, c] of view.cells.entries()) {
    const stored = report.bench!.cells[i]!.analysis;
    assert.equal(c.ratio, stored.ratio, "the stored ratio, not one computed again");
    assert.deepEqual(c.ci95, stored.ci95);
  }
  const page = renderRunPage(view);
  golden("web-run-page.html", page);
  assert.equal(page.match(/<circle class="point"/g)?.length, view.cells.length);
  assert.match(page, /samples\.csv/);
  // Every stored run of each cell's A and B drawn once, in run order (failed runs as a mark); the arm's are in the raw samples.
  const [a, b] = report.bench?.variants ?? [];
  const ab = flow.samples.filter((x) => x.variant === a?.name || x.variant === b?.name).length;
  assert.ok(ab > 0 && ab < flow.samples.length);
  assert.equal((page.match(/<circle class="run"/g)?.length ?? 0) + (page.match(/class="failed"/g)?.length ?? 0), ab);
  assert.match(page, /runs of busy_read=50 are in the raw samples/);
  // The report's Machine and "Reproduce by hand" sections, from the same bench result.
  const bench = report.bench!.stage.data;
  assert.ok(Object.keys(bench.profile).length > 0 && bench.commands.length > 0);
  assert.deepEqual(view.machine?.profile, bench.profile);
  assert.deepEqual(view.machine?.commands, bench.commands);
  for (const [k, v] of Object.entries(bench.profile)) assert.ok(page.includes(`<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`), k);
  assert.ok(page.includes(`<pre class="commands">${escapeHtml(bench.commands.join("\n"))}</pre>`));
  assert.match(page, /<h2>Reproduce by hand \(one run of each cell\)<\/h2>/);
  assert.equal(buildRunView({ flow: storedFlow, series: flow.series, results: [], errors: [], verdicts: [], samples: [], apiBase: "/x" }).machine, null);
  for (const s of view.stages) assert.ok(s.durationSec !== null && s.durationSec >= 0, `${s.stage} has a duration`);
});

test("series page: cover and patches linked to lore, versions side by side with their cells (golden)", () => {
  const v1: Series = { ...flow.series, id: "series-v1", version: 1, previousVersion: null };
  const v2: Series = { ...flow.series, previousVersion: "series-v1" };
  const view = seriesViewSchema.parse(
    buildSeriesView(v2, [
      { series: v1, flow: null, results: [], verdicts: [] },
      { series: v2, flow: storedFlow, results: flow.runs, verdicts },
    ]),
  );
  const page = renderSeriesPage(view);
  golden("web-series-page.html", page);
  assert.match(page, /https:\/\/lore\.kernel\.org\/all\//);
  assert.match(page, /<th>v1<br>not run<\/th>|href="\/series\/series-v1">v1<\/a>/);
});

test("series list with filters and pages (golden), and hostile mail text escaped on every page", () => {
  const counts: Record<string, number> = {};
  for (const v of verdicts) counts[v.verdict] = (counts[v.verdict] ?? 0) + 1;
  const view = seriesListViewSchema.parse(
    buildSeriesListView({
      total: 120,
      offset: 50,
      limit: 50,
      filter: { tree: "bpf-next", q: `"><script>` },
      rows: [
        { id: flow.series.id, series: flow.series, createdAt: "2026-12-01T09:59:00.000Z", authorEmail: "ada@example.org", flows: [storedFlow], verdicts: counts },
        { id: hostile.id, series: hostile, createdAt: "2026-12-01T09:58:00.000Z", authorEmail: `"><img@example.org`, flows: [], verdicts: {} },
      ],
    }),
  );
  const page = renderSeriesList(view, ["bpf-next", "net-next"]);
  golden("web-series-list.html", page);
  assert.match(page, /rel="prev" href="\/series\?tree=bpf-next&amp;q=%22%3E%3Cscript%3E"/);
  assert.match(page, /rel="next" href="\/series\?tree=bpf-next&amp;q=%22%3E%3Cscript%3E&amp;offset=52"/);
  assert.match(page, new RegExp(`<td>${verdictWords(counts)}</td>`), "the version's verdict words");
  assert.match(page, /href="\/series\?author=ada%40example.org"/);
  const series = renderSeriesPage(buildSeriesView(hostile, [{ series: hostile, flow: null, results: [], verdicts: [] }]));
  for (const p of [page, series]) {
    assert.doesNotMatch(p, /<script|<img|<svg onload|<b>cover/i);
    assert.doesNotMatch(p, /"><img/);
  }
  assert.match(series, /&lt;script&gt;alert\(&quot;t&quot;\)&lt;\/script&gt; &amp; &quot;quoted&quot; &#39;x&#39;/);
});

test("requests: read-only, ids without paths, filters bounded with what is allowed", () => {
  assert.deepEqual(parseWebRequest("POST", "/series"), { ok: false, status: 405, message: "read-only: GET and HEAD only", allow: "GET, HEAD" });
  assert.equal(parseWebRequest("GET", "/runs/..%2f..%2fetc%2fpasswd").ok, false);
  assert.equal(parseWebRequest("GET", "/runs/../../etc/passwd").ok, false);
  assert.equal(parseWebRequest("GET", "/api/runs/x/../../samples.csv").ok, false);
  const bad = parseWebRequest("GET", "/series?verdict=maybe");
  assert.deepEqual(bad, { ok: false, status: 400, message: "verdict: one of pass, warn, fail, error, skip" });
  assert.equal((parseWebRequest("GET", `/series?q=${"a".repeat(201)}`) as { status: number }).status, 400);
  assert.equal((parseWebRequest("GET", `/series?q=${"a".repeat(3000)}`) as { status: number }).status, 414);
  assert.equal((parseWebRequest("GET", "/series?offset=-1") as { status: number }).status, 400);
  assert.equal((parseWebRequest("GET", "/series?limit=1") as { status: number }).status, 400);
  assert.deepEqual(parseWebRequest("HEAD", "/api/series?q=tcp&state=queued&offset=50"), {
    ok: true,
    head: true,
    route: { kind: "series-list", api: true, query: { offset: 50, q: "tcp", state: "queued" } },
  });
  assert.deepEqual(parseWebRequest("GET", "/series?has-regression=maybe"), { ok: false, status: 400, message: "has-regression: one of yes, no" });
  assert.deepEqual(parseWebRequest("GET", "/series?author=Someone"), { ok: false, status: 400, message: "author: an e-mail address (name@domain)" });
  assert.deepEqual(parseWebRequest("GET", "/series?q=a%0Ab"), { ok: false, status: 400, message: "q: text without control characters (line breaks, tabs)" });
  assert.match((parseWebRequest("GET", "/series?sort=x") as { message: string }).message, /allowed: q, tree, list, state, verdict, author, has-regression, offset/);
  assert.deepEqual(parseWebRequest("GET", "/series?list=BPF.vger.kernel.org").ok && parseWebRequest("GET", "/series?list=BPF.vger.kernel.org"), {
    ok: true,
    head: false,
    route: { kind: "series-list", api: false, query: { offset: 0, list: "bpf.vger.kernel.org" } },
  });
  assert.equal((parseWebRequest("GET", "/series?list=%3Cbpf.vger.kernel.org%3E") as { status: number }).status, 400, "angle brackets are not part of a list's id");
  assert.deepEqual(parseWebRequest("GET", "/series?author=zq%40example.org&has-regression=yes&verdict=fail"), {
    ok: true,
    head: false,
    route: { kind: "series-list", api: false, query: { offset: 0, author: "zq@example.org", "has-regression": "yes", verdict: "fail" } },
  });
  assert.deepEqual(parseWebRequest("GET", "/api/runs/flow-1/samples.csv"), { ok: true, head: false, route: { kind: "samples", id: "flow-1", format: "csv" } });
});

test("verdict words: most telling first, counted, plural where English has one", () => {
  assert.equal(verdictWords({ "no change": 1, regression: 2 }), "2 regressions, 1 no change");
  assert.equal(verdictWords({ improvement: 1, noisy: 2, inconclusive: 3, "no change": 0 }), "1 improvement, 2 noisy, 3 inconclusive");
  assert.equal(verdictWords({}), "");
});

test("samples CSV: quoted fields, and text a spreadsheet would run as a formula made inert", () => {
  const csv = renderSamplesCsv([
    { cell: "TCP_RR/loopback/1", variant: "a", round: 0, run: 1, slot: 0, throughput: 12.5, ok: 1, problem: null, started_at: "s", ended_at: "e", superseded: null },
    { cell: "TCP_RR/loopback/1", variant: "b", round: 0, run: 1, slot: 1, throughput: null, ok: 0, problem: '=HYPERLINK("x"), "q"', started_at: "s", ended_at: "e", superseded: "slow" },
  ]);
  assert.equal(
    csv,
    'cell,variant,round,run,slot,throughput,ok,problem,started_at,ended_at,superseded\r\nTCP_RR/loopback/1,a,0,1,0,12.5,1,,s,e,\r\nTCP_RR/loopback/1,b,0,1,1,,0,"\'=HYPERLINK(""x""), ""q""",s,e,slow\r\n',
  );
});

test("queue page: runners with their jobs linked, jobs per queue, pools, unfinished flows with their estimated start and how, recent failures; Redis away said in words (golden)", () => {
  const state = {
    available: true,
    reason: null,
    queues: [
      { name: "orchestrator", paused: false, counts: { waiting: 0, "waiting-children": 2, active: 0, delayed: 0, failed: 0, completed: 3 } },
      { name: "pool-local", paused: true, counts: { waiting: 1, "waiting-children": 2, active: 1, delayed: 0, failed: 1, completed: 9 } },
    ],
    runners: [{ id: "vm-1234", pool: "local", host: "vm", state: "busy", seenSecAgo: 2.4, job: { flowId: flow.flowId, stage: "bench" }, jobSec: 61.2 }],
    unreadableRunners: 0,
    stageJobs: [
      { pool: "local", flowId: flow.flowId, stage: "bench", state: "active" },
      { pool: "local", flowId: "flow-waiting", stage: "apply", state: "waiting" },
      { pool: "local", flowId: "flow-waiting", stage: "build", state: "waiting-children" },
      { pool: "local", flowId: "flow-waiting", stage: "bench", state: "waiting-children" },
    ],
    failedJobs: [{ pool: "local", flowId: "flow-lost", stage: "build", reason: "job stalled more than allowable limit", failedAt: "2026-12-01T09:30:00.000Z", attempts: 3 }],
  };
  const bench = benchSchema.parse({});
  const plan = JSON.stringify({ stages: ["apply", "build", "bench"], bench, tree: "bpf-next" });
  const now = new Date("2026-12-01T10:05:00.000Z");
  const view = queueViewSchema.parse(
    buildQueueView({
      state,
      unfinished: [
        { id: flow.flowId, status: "queued", createdAt: "2026-12-01T10:00:00.000Z", tree: "bpf-next", plan },
        { id: "flow-waiting", status: "queued", createdAt: "2026-12-01T10:01:00.000Z", tree: "bpf-next", plan },
        { id: "flow-reporting", status: "queued", createdAt: "2026-12-01T10:02:00.000Z", tree: "bpf-next", plan },
      ],
      costs: new Map([["bpf-next", DEFAULT_KERNEL_COSTS]]),
      errorFlows: [{ id: "flow-broken", finishedAt: "2026-12-01T08:00:00.000Z", reasons: [{ stage: "bench", summary: "netperf: <no server> answered\nmore" }] }],
      now,
    }),
  );
  // The running flow has its bench left, less the minute it has run; the waiting one then takes the runner for all its stages.
  const benchSec = stageSeconds("bench", bench, DEFAULT_KERNEL_COSTS);
  const [running, waiting, reporting] = view.unfinished;
  assert.deepEqual([running?.running, running?.remainingSec, running?.startsAt], [true, benchSec - 61.2, null]);
  assert.equal(waiting?.poolPosition, 1);
  assert.equal(waiting?.remainingSec, stageSeconds("build", bench, DEFAULT_KERNEL_COSTS) + benchSec);
  assert.equal(waiting?.startsAt, new Date(now.getTime() + (benchSec - 61.2) * 1000).toISOString());
  assert.deepEqual([reporting?.pool, reporting?.startsAt], [null, null]);
  assert.deepEqual(view.pools, [{ pool: "local", idle: 0, busy: 1, running: 1, waiting: 1 }]);
  assert.deepEqual(view.failures.map((f) => [f.flowId, f.stage, f.reason]), [
    ["flow-lost", "build", "job stalled more than allowable limit (after 3 attempt(s))"],
    ["flow-broken", "bench", "netperf: <no server> answered"],
  ]);
  const page = renderQueuePage(view, true);
  golden("web-queue-page.html", page);
  assert.match(page, /<form class="admin" method="post" action="\/admin\/pools\/local\/resume">/);
  assert.doesNotMatch(renderQueuePage(view), /<form class="admin"/, "no admin forms without an admin token");
  assert.match(page, new RegExp(`<a href="/runs/${flow.flowId}">${flow.flowId}</a> bench \\(61 s\\)`));
  assert.match(page, /default build times \(no build of this tree yet\)/);
  assert.match(page, /netperf: &lt;no server&gt; answered/);
  const away = renderQueuePage(
    buildQueueView({
      state: { available: false, reason: "Redis did not answer: connect ECONNREFUSED", queues: [], runners: [], unreadableRunners: 0, stageJobs: [], failedJobs: [] },
      unfinished: [],
      costs: new Map(),
      errorFlows: [],
      now,
    }),
  );
  assert.match(away, /Queue state unavailable: Redis did not answer: connect ECONNREFUSED/);
});

test("series page: a 'Since v1' section for each version that ran after one that ran", () => {
  const v1: Series = { ...flow.series, id: "series-v1", version: 1, previousVersion: null };
  const v2: Series = { ...flow.series, id: "series-v2", version: 2, previousVersion: "series-v1" };
  const ran = { series: v1, flow: storedFlow, results: flow.runs, verdicts };
  const page = renderSeriesPage(buildSeriesView(v2, [ran, { ...ran, series: v2 }]));
  assert.match(page, /<h3>Since v1<\/h3>\n<p>v2: no verdict changed\.<\/p>/);
});

test("quarantine page: each mail with its reason, a release form only where the bytes were kept and only for admins; hostile ids escaped (golden)", () => {
  const view = quarantineViewSchema.parse({
    limit: 500,
    items: [
      { id: 7, messageId: null, reason: "no Message-ID", source: "maildir:/srv/list", createdAt: "2026-12-01T10:00:00.000Z", kept: true },
      { id: 6, messageId: `x"><script>alert(1)</script>@evil.example`, reason: "message of 17000000 bytes exceeds the 16777216-byte limit", source: "https://lore.kernel.org/bpf", createdAt: "2026-12-01T09:00:00.000Z", kept: false },
    ],
  });
  const page = renderQuarantinePage(view, true);
  golden("web-quarantine-page.html", page);
  assert.equal(page.match(/<form class="admin"/g)?.length, 1);
  assert.match(page, /action="\/admin\/quarantine\/7\/release"/);
  assert.doesNotMatch(page, /<script>/);
  assert.doesNotMatch(renderQuarantinePage(view), /<form class="admin"/);
  assert.deepEqual(parseAdminPath("/admin/quarantine/7/release"), { kind: "release", quarantineId: 7 });
  for (const p of ["/admin/quarantine/0/release", "/admin/quarantine/x/release", "/admin/quarantine/07/release", "/admin/quarantine/7/delete"]) assert.equal(parseAdminPath(p), null, p);
  assert.equal(adminReturnPath({ kind: "release", quarantineId: 7 }), "/quarantine");
  assert.deepEqual(parseWebRequest("GET", "/api/quarantine"), { ok: true, head: false, route: { kind: "quarantine", api: true } });
});
