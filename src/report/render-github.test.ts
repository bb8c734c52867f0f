import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";
import { Ajv } from "ajv";
import type { BenchSample, Cell, Variant } from "../domain/bench.ts";
import type { ApplyData, BenchData, StageResult } from "../domain/results.ts";
import type { Series } from "../domain/series.ts";
import { parseNetperfOutput } from "../runner/bench/parse-netperf.ts";
import { analyzeSamples } from "../stats/analyze-samples.ts";
import { readFixture } from "../../test/helpers/fixtures.ts";
import { golden } from "../../test/helpers/golden.ts";
import { buildReport } from "./build-report.ts";
import type { Report } from "./report.ts";
import { renderB4Check } from "./render-b4-check.ts";
import { ANNOTATIONS_PER_REQUEST, batchAnnotations, CHECK_TEXT_LIMIT, conclusionOf, renderCheckRun } from "./render-check-run.ts";
import { escapeMarkdown, fitText, renderPrComment } from "./render-markdown.ts";
import { renderText } from "./render-text.ts";

/**
 * Golden tests of the GitHub and b4 renderings, built from real netperf
 * runs: ../shared/fixtures/netperf/container-veth-tcp_rr-1B-{baseline,bpfdelay20us}-run{1..5}.txt
 * (5 alternating pairs, a 20 µs tc-BPF delay on the client's veth). Dates are fixed.
 * UPDATE_GOLDEN=1 rewrites the files under test/golden/.
 */
const AT = "2025-01-15T10:00:00.000Z";

const series: Series = {
  id: "series-github-octo-linux-7",
  source: "github",
  title: "bpf: SO_BUSY_POLL from sockops programs",
  tree: "bpf-next",
  version: 1,
  rfc: false,
  resend: false,
  total: 2,
  kind: "patch",
  cover: null,
  patches: [
    { index: 1, messageId: "github-octo-linux-7-1@patchbench", subject: "[PATCH 1/2] bpf: allow SO_BUSY_POLL in bpf_setsockopt", author: "Ada Hacker <ada@example.org>", commit: "1".repeat(40) },
    { index: 2, messageId: "github-octo-linux-7-2@patchbench", subject: "[PATCH 2/2] selftests/bpf: sockops busy poll | test @everyone", author: "Ada Hacker <ada@example.org>", commit: "2".repeat(40) },
  ],
  missing: [],
  complete: true,
  baseCommit: "a".repeat(40),
  changeId: null,
  trailers: [],
  previousVersion: null,
  author: "Ada Hacker <ada@example.org>",
  date: AT,
};

const variants: [Variant, Variant] = [
  { name: "baseline", settings: [] },
  { name: "bpfdelay20us", settings: [] },
];

function fixtureSamples(pairs: readonly number[]): BenchSample[] {
  const cell: Cell = { test: "TCP_RR", size: 1, topology: "container" };
  const out: BenchSample[] = [];
  for (const [round, pair] of pairs.entries()) {
    for (const [slot, v] of ["baseline", "bpfdelay20us"].entries()) {
      const parsed = parseNetperfOutput(readFixture("netperf", `container-veth-tcp_rr-1B-${v}-run${pair}.txt`).toString("utf8"));
      out.push({
        cell,
        variant: v,
        round,
        run: 0,
        slot,
        startedAt: AT,
        endedAt: AT,
        values: parsed.values,
        throughput: parsed.throughput,
        ok: Number.isFinite(parsed.throughput),
      });
    }
  }
  return out;
}

function stage<T>(stageName: "apply" | "bench", status: StageResult["status"], summary: string, data: T): StageResult<T> {
  return { stage: stageName, status, summary, startedAt: AT, endedAt: AT, runner: "runner-1", data };
}

/** pairs: which of the 5 recorded pairs (1..5) to use, in order. */
function fixtureReport(pairs: readonly number[] = [1, 2, 3, 4, 5], cvLimit?: number): Report {
  const samples = fixtureSamples(pairs);
  const apply = stage<ApplyData>("apply", "pass", "applied 2/2 patches to bpf-next", {
    tree: "bpf-next",
    branch: "master",
    baseCommit: "a".repeat(40),
    baseRule: "given",
    baseNotes: [],
    head: "b".repeat(40),
    applied: 2,
    total: 2,
    failure: null,
    rejected: [],
  });
  const bench = stage<BenchData>("bench", "pass", `1 cell x 2 variants, ${2 * pairs.length} runs`, {
    cells: [{ test: "TCP_RR", size: 1, topology: "container" }],
    variants,
    design: "ABAB",
    rounds: pairs.length,
    runsPerRound: 1,
    durationSec: 3,
    pinning: { local: 0, remote: 1 },
    samples,
    profile: { cpu: "2 online (0-1), virtual machine", kernel: "6.18.0" },
    warnings: ["cpufreq governor unavailable (no cpufreq driver: frequency is not under our control)"],
    problems: [],
    commands: ["ip netns exec nprobe-a netperf -H 192.0.2.2 -p 12865 -t TCP_RR -l 3 -T 0,1 -- -r 1,1 -k THROUGHPUT,THROUGHPUT_UNITS,MEAN_LATENCY,P50_LATENCY,P90_LATENCY,P99_LATENCY"],
  });
  const analysis = analyzeSamples(samples, ["baseline", "bpfdelay20us"], cvLimit === undefined ? {} : { cvLimit });
  return buildReport({ id: "flow-golden", series, results: [apply, bench], errors: [], analysis, generatedAt: AT, tool: { name: "patchbench", version: "0.1.0" } });
}

function applyFailReport(files: string[]): Report {
  const apply = stage<ApplyData>("apply", "fail", "patch 1 of 2 does not apply", {
    tree: "bpf-next",
    branch: "master",
    baseCommit: "c".repeat(40),
    baseRule: "tree tip",
    baseNotes: ["no base-commit trailer"],
    head: null,
    applied: 0,
    total: 2,
    failure: { patch: 1, subject: "[PATCH 1/2] tcp: <script>alert(1)</script>", files, gitMessage: "error: patch failed: include/trace/events/tcp.h:218" },
    rejected: [],
  });
  return buildReport({ id: "flow-fail", series, results: [apply], errors: [], analysis: null, generatedAt: AT, tool: { name: "patchbench", version: "0.1.0" } });
}

test("all 5 recorded pairs: pair 1 has a slow run on each side, the injected delay is a regression with and without them", () => {
  const c = fixtureReport().bench!.cells[0]!.analysis;
  assert.equal(c.verdict, "regression", c.reason);
  assert.match(c.reason, /slow mode: 1 run\(s\) of A and 1 run\(s\) of B below 60% of its side's median \(without them too\)/);
});

test("the first 3 recorded pairs: pair 1's slow runs could carry the verdict, so patchbench calls the cell noisy (golden)", () => {
  const r = fixtureReport([1, 2, 3]);
  const cell = r.bench!.cells[0]!;
  assert.equal(cell.analysis.verdict, "noisy");
  assert.match(cell.analysis.noisyReasons.join(" "), /slow/i);
  const out = renderCheckRun(r, { changedFiles: ["net/core/filter.c"] });
  assert.equal(out.annotations.length, 0, "a noisy cell is not a finding");
  golden("check-run-summary-noisy.md", out.summary);
  golden("b4-check-noisy.json", `${JSON.stringify(renderB4Check(r), null, 2)}\n`);
  // The mail says why the cell was set aside.
  const text = renderText(r);
  assert.match(text.replace(/\n {6}/g, " "), /why noisy: within-pair CV [\d.]+% > limit 5\.0%; slow mode: 1 run\(s\) of A and 1 run\(s\) of B below 60%/);
  golden("mail-noisy.txt", text);
});

test("pairs 2-5 with a 10% noise gate: a regression, rendered as check run, PR comment and b4 JSON (golden)", () => {
  // With the default 5% gate these pairs are "noisy" too (within-pair CV 7.1%
  // on this VM); an operator's cvLimit of 10% lets the -45% change through.
  const r = fixtureReport([2, 3, 4, 5], 0.1);
  assert.equal(r.bench?.cells.length, 1);
  const cell = r.bench!.cells[0]!;
  assert.equal(cell.analysis.verdict, "regression");
  assert.ok(cell.analysis.ratio < 0.7 && cell.analysis.ratio > 0.4, `ratio ${cell.analysis.ratio}`);

  const out = renderCheckRun(r, { changedFiles: ["net/core/filter.c", "tools/testing/selftests/bpf/prog_tests/sockopt.c"], detailsUrl: "http://127.0.0.1/r/flow-golden" });
  assert.equal(out.conclusion, "neutral");
  assert.match(out.title, /1 of 1 cells regressed, down to 0\.\d+x/);
  assert.match(out.summary, /```mermaid\nxychart-beta\n/);
  assert.match(out.summary, /\| TCP_RR container 1 B \|/);
  assert.equal(out.annotations.length, 1);
  assert.equal(out.annotations[0]!.path, "net/core/filter.c");
  assert.equal(out.annotations[0]!.annotation_level, "warning");
  golden("check-run-summary.md", out.summary);
  golden("check-run-text.md", out.text);
  golden("check-run-annotations.json", `${JSON.stringify(out.annotations, null, 2)}\n`);

  const comment = renderPrComment(r, { marker: "patchbench:flow-golden", request: "/bench sizes=1 topology=container", detailsUrl: null });
  assert.ok(comment.startsWith("<!-- patchbench:flow-golden -->\n"));
  golden("pr-comment.md", comment);

  const b4 = renderB4Check(r, { url: "http://127.0.0.1/r/flow-golden" });
  assert.deepEqual(Object.keys(b4), ["tool", "status", "summary", "url", "details"]);
  assert.equal(b4.status, "warn");
  assert.ok(Array.isArray(JSON.parse(b4.details)));
  golden("b4-check.json", `${JSON.stringify(b4, null, 2)}\n`);
});

test("untrusted text is escaped: no HTML, no table breaks, no @-mentions", () => {
  const r = applyFailReport(["net/ipv4/tcp.c"]);
  const comment = renderPrComment(r, { marker: "m", detailsUrl: null });
  assert.doesNotMatch(comment, /<script>/);
  assert.match(comment, /&lt;script&gt;/);
  const md = escapeMarkdown("a | b @team <b>x</b>\nnext");
  assert.equal(md, "a \\| b &#64;team &lt;b&gt;x&lt;/b&gt; next");
  const fx = fixtureReport();
  const summary = renderCheckRun(fx).summary;
  // The patch subject with "| test @everyone" is never rendered raw.
  assert.doesNotMatch(summary, /@everyone/);
  assert.equal(conclusionOf("error"), "neutral");
  assert.equal(conclusionOf("fail"), "failure");
  assert.equal(conclusionOf("pass"), "success");
  assert.equal(renderB4Check(r).status, "fail");
});

test("GitHub limits: annotations are batched by 50, long text is cut at a line with a note, and the result passes GitHub's own schema", () => {
  const files = Array.from({ length: 120 }, (_, i) => `drivers/net/file${i}.c`);
  const out = renderCheckRun(applyFailReport(files));
  assert.equal(out.annotations.length, 120);
  const batches = batchAnnotations(out.annotations);
  assert.deepEqual(batches.map((b) => b.length), [50, 50, 20]);
  assert.equal(ANNOTATIONS_PER_REQUEST, 50);

  const long = Array.from({ length: 20_000 }, (_, i) => `line ${i} of the report`).join("\n");
  const cut = fitText(long, CHECK_TEXT_LIMIT, (n) => `_… ${n} characters cut_`);
  assert.ok(cut.length <= CHECK_TEXT_LIMIT, String(cut.length));
  assert.match(cut, /_… \d+ characters cut_\n$/);
  assert.match(cut.split("\n\n_…")[0]!, /line \d+ of the report$/);
  const fenced = fitText(`\`\`\`\n${long}\n\`\`\``, 1000, () => "note");
  assert.match(fenced, /\n```\n\nnote\n$/);

  // GitHub's own description of the request (limits included) accepts what we send.
  const require = createRequire(import.meta.url);
  const doc = JSON.parse(readFileSync(require.resolve("@octokit/openapi/generated/api.github.com.json"), "utf8"));
  const ajv = new Ajv({ strict: false, validateSchema: false });
  ajv.addSchema({ $id: "gh", components: doc.components });
  const schema = doc.paths["/repos/{owner}/{repo}/check-runs/{check_run_id}"].patch.requestBody.content["application/json"].schema;
  const validate = ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components', '"gh#/components')));
  const big = renderCheckRun(fixtureReport());
  for (const batch of batches) {
    const body = { status: "completed", conclusion: out.conclusion, output: { title: out.title, summary: out.summary, text: out.text, annotations: batch } };
    assert.ok(validate(body), JSON.stringify(validate.errors));
  }
  assert.ok(validate({ status: "completed", conclusion: big.conclusion, output: { title: big.title, summary: big.summary, text: big.text, annotations: big.annotations } }), JSON.stringify(validate.errors));
  assert.equal(validate({ output: { title: "t", summary: long, annotations: [] } }), false, "GitHub's schema itself refuses an over-long summary");
});


test("a series over an ingest cap: the refusal is the headline of the mail, the check run and the comment", () => {
  const line = "series has 240 patches, over ingest.maxPatches=100; not run";
  const r = buildReport({
    id: "flow-capped",
    series,
    results: [stage("apply", "skip", line, null)],
    errors: [],
    analysis: null,
    generatedAt: AT,
    tool: { name: "patchbench", version: "0.1.0" },
  });
  assert.equal(r.headline, line);
  assert.equal(r.status, "skip");
  assert.ok(renderText(r).includes(line));
  assert.ok(renderCheckRun(r).summary.includes(line));
  assert.ok(renderPrComment(r, { marker: "m", detailsUrl: null }).includes(line));
});
