import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchSample, Cell } from "../../src/domain/bench.ts";
import type { ApplyData, BenchData, Stage, StageResult } from "../../src/domain/results.ts";
import type { Series } from "../../src/domain/series.ts";
import { assembleMailbox } from "../../src/ingest/mail/assemble-mailbox.ts";
import { buildReport } from "../../src/report/build-report.ts";
import type { Report } from "../../src/report/report.ts";
import { parseAmFailure } from "../../src/runner/apply/parse-am-failure.ts";
import { checkNetperfRun } from "../../src/runner/bench/parse-netperf.ts";
import { analyzeSamples } from "../../src/stats/analyze-samples.ts";
import { PROJECT_ROOT, readFixture } from "../helpers/fixtures.ts";

/**
 * Stage results built only from real recorded artefacts (../shared/fixtures):
 * real netdev series mails, the recorded `git am` outcome of those series on
 * Debian's linux-source-6.1 (mail/apply-6.1/README.md), real netperf runs
 * with and without an injected 20 us delay, and netperf's real error output.
 * Dates are fixed so renderings are byte-stable.
 */
export const FIXED_DATE = "2026-01-15T12:00:00.000Z";
export const TOOL = { name: "patchbench", version: "0.1.0" } as const;
export const APPLY_README = ["mail", "apply-6.1", "README.md"] as const;
/** From mail/apply-6.1/README.md ("The tree (base)" and "Case A"). */
export const BASE_COMMIT = "d297c3ede9e738a609a04b5f927b101e924fac8a";
export const DELACK_HEAD = "eff9a6153179d68b0b7648d7a1fa17846f889282";

export const DELACK_FILES = ["delack-0-cover.eml", "delack-1.eml", "delack-2.eml", "delack-3.eml"];
export const AUTOTUNE_FILES = ["autotune-0-cover.eml", "autotune-1.eml", "autotune-2.eml", "autotune-3.eml"];

export function seriesMails(files: readonly string[]): Buffer[] {
  return files.map((f) => readFixture("mail", "apply-6.1", f));
}

export async function seriesOf(files: readonly string[]): Promise<Series> {
  const box = await assembleMailbox(seriesMails(files));
  const s = box.series.find((x) => x.kind === "patch");
  if (!s) throw new Error(`no series in ${files.join(", ")}`);
  return s;
}

const stage = <T>(name: Stage, status: StageResult["status"], summary: string, data: T): StageResult<T> => ({
  stage: name,
  status,
  summary,
  startedAt: FIXED_DATE,
  endedAt: FIXED_DATE,
  runner: "fixture",
  data,
});

/** Case A of the README: delack applies cleanly, 3/3. */
export function delackApplied(): StageResult<ApplyData> {
  return stage("apply", "pass", "applied 3/3 patches to net-next", {
    tree: "net-next",
    branch: "base",
    baseCommit: BASE_COMMIT,
    baseRule: "given",
    baseNotes: [],
    head: DELACK_HEAD,
    applied: 3,
    total: 3,
    failure: null,
    rejected: [],
  });
}

/** Case B1 of the README: the recorded `git am` output of autotune, parsed as the runner does. */
export function autotuneDoesNotApply(series: Series): StageResult<ApplyData> {
  const readme = readFixture(...APPLY_README).toString("utf8");
  const start = readme.indexOf("$ git am autotune-1.eml autotune-2.eml autotune-3.eml\n");
  const end = readme.indexOf("[exit 128]", start);
  if (start < 0 || end < 0) throw new Error("autotune git am transcript not found in the README");
  const output = readme.slice(readme.indexOf("\n", start) + 1, end);
  const parsed = parseAmFailure(output);
  const p1 = series.patches[0]!;
  return stage("apply", "fail", "patch 1 of 3 does not apply", {
    tree: "net-next",
    origin: "https://git.kernel.org/pub/scm/linux/kernel/git/netdev/net-next.git",
    branch: "base",
    baseCommit: BASE_COMMIT,
    baseRule: "given",
    baseNotes: [],
    head: null,
    applied: 0,
    total: 3,
    failure: { patch: 1, subject: p1.subject, files: parsed.files, gitMessage: parsed.message },
    rejected: [],
  });
}

/**
 * Alternating pairs of netperf/container-veth-tcp_rr-1B-{baseline,bpfdelay20us}-run1..5. All five
 * are a regression (pair 1's slow runs do not carry it); the first three alone are noisy.
 */
export function netperfDelayBench(pairs: readonly number[] = [1, 2, 3, 4, 5]): StageResult<BenchData> {
  const cell: Cell = { test: "TCP_RR", size: 1, topology: "container" };
  const keys = ["THROUGHPUT", "THROUGHPUT_UNITS", "MEAN_LATENCY", "P50_LATENCY", "P90_LATENCY", "P99_LATENCY"];
  const samples: BenchSample[] = [];
  for (const round of pairs) {
    for (const [slot, variant, file] of [
      [0, "baseline", "baseline"],
      [1, "bpfdelay20us", "bpfdelay20us"],
    ] as const) {
      const stdout = readFixture("netperf", `container-veth-tcp_rr-1B-${file}-run${round}.txt`).toString("utf8");
      const check = checkNetperfRun({ code: 0, stdout, stderr: "", requestedKeys: keys });
      samples.push({
        cell,
        variant,
        round,
        run: 0,
        slot,
        startedAt: FIXED_DATE,
        endedAt: FIXED_DATE,
        values: check.output.values,
        throughput: check.output.throughput,
        ok: check.ok,
        ...(check.problem ? { problem: check.problem } : {}),
      });
    }
  }
  return stage("bench", "pass", `1 cell, ${pairs.length} rounds per variant`, {
    cells: [cell],
    variants: [
      { name: "baseline", settings: [] },
      { name: "bpfdelay20us", settings: [] },
    ],
    design: "ABAB",
    rounds: pairs.length,
    runsPerRound: 1,
    durationSec: 3,
    pinning: { local: 0, remote: 1 },
    samples,
    profile: {},
    warnings: [],
    problems: [],
    commands: [
      "ip netns exec nprobe-a netperf -H 192.0.2.2 -p 12865 -t TCP_RR -l 3 -T 0,1 -- -r 1,1 -k THROUGHPUT,THROUGHPUT_UNITS,MEAN_LATENCY,P50_LATENCY,P90_LATENCY,P99_LATENCY",
    ],
  });
}

/** netperf's own words when no netserver listens (error-no-netserver-port12866.txt, rc 255). */
export function noNetserverReason(): string {
  const stdout = readFixture("netperf", "error-no-netserver-port12866.txt").toString("utf8");
  const r = checkNetperfRun({ code: 255, stdout, stderr: "", requestedKeys: ["THROUGHPUT"] });
  if (r.ok || !r.problem) throw new Error("expected a failed netperf run");
  return r.problem;
}

export function analyse(bench: StageResult<BenchData>) {
  const names: [string, string] = [bench.data.variants[0]!.name, bench.data.variants[1]!.name];
  return analyzeSamples(bench.data.samples, names);
}

/** The reports the golden files and the mail policy tests read. */
export async function fixtureReports(): Promise<{ regression: Report; noisy: Report; doesNotApply: Report; infraError: Report }> {
  const delack = await seriesOf(DELACK_FILES);
  const autotune = await seriesOf(AUTOTUNE_FILES);
  const delayReport = (id: string, bench: StageResult<BenchData>) =>
    buildReport({ id, series: delack, results: [delackApplied(), bench], errors: [], analysis: analyse(bench), generatedAt: FIXED_DATE, tool: TOOL });
  const regression = delayReport("flow-golden-regression", netperfDelayBench());
  const noisy = delayReport("flow-golden-noisy", netperfDelayBench([1, 2, 3]));
  const doesNotApply = buildReport({
    id: "flow-golden-does-not-apply",
    series: autotune,
    results: [autotuneDoesNotApply(autotune)],
    errors: [],
    analysis: null,
    generatedAt: FIXED_DATE,
    tool: TOOL,
  });
  const infraError = buildReport({
    id: "flow-golden-infra-error",
    series: delack,
    results: [delackApplied()],
    errors: [{ stage: "bench", reason: noNetserverReason() }],
    analysis: null,
    generatedAt: FIXED_DATE,
    tool: TOOL,
  });
  return { regression, noisy, doesNotApply, infraError };
}

/**
 * Golden files of the mailing-list reply, rendered from real fixture results
 * (test/integration/mail-fixture-results.ts). Any rendering change fails here;
 * review the diff, then accept it with UPDATE_GOLDEN=1.
 */
export function checkGolden(name: string, actual: string): void {
  const path = join(PROJECT_ROOT, "test", "golden", name);
  if (process.env.UPDATE_GOLDEN === "1") {
    writeFileSync(path, actual);
    return;
  }
  assert.ok(existsSync(path), `golden file ${path} is missing; create it with UPDATE_GOLDEN=1`);
  assert.equal(actual, readFileSync(path, "utf8"), `${name} differs from the rendering; if intended, run with UPDATE_GOLDEN=1`);
}

