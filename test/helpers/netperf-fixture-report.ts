import type { BenchSample, Cell } from "../../src/domain/bench.ts";
import type { ApplyData, BenchData, Stage, StageResult } from "../../src/domain/results.ts";
import type { Series } from "../../src/domain/series.ts";
import { buildReport } from "../../src/report/build-report.ts";
import type { Report } from "../../src/report/report.ts";
import { parseNetperfOutput } from "../../src/runner/bench/parse-netperf.ts";
import { analyzeSamples } from "../../src/stats/analyze-samples.ts";
import { readFixture } from "./fixtures.ts";

/**
 * A report built the real way from recorded netperf runs:
 * ../shared/fixtures/netperf/container-veth-tcp_rr-1B-{baseline,bpfdelay20us}-run{1..5}.txt
 * (5 alternating pairs; a 20 µs tc-BPF delay on the client's veth, which
 * the analysis calls a regression). Dates fixed.
 */
const AT = "2025-01-15T10:00:00.000Z";

function samples(pairs: readonly number[]): BenchSample[] {
  const cell: Cell = { test: "TCP_RR", size: 1, topology: "container" };
  const out: BenchSample[] = [];
  for (const [round, pair] of pairs.entries()) {
    for (const [slot, v] of ["baseline", "bpfdelay20us"].entries()) {
      const parsed = parseNetperfOutput(readFixture("netperf", `container-veth-tcp_rr-1B-${v}-run${pair}.txt`).toString("utf8"));
      out.push({ cell, variant: v, round, run: 0, slot, startedAt: AT, endedAt: AT, values: parsed.values, throughput: parsed.throughput, ok: Number.isFinite(parsed.throughput) });
    }
  }
  return out;
}

function stage<T>(name: Stage, status: StageResult["status"], summary: string, data: T): StageResult<T> {
  return { stage: name, status, summary, startedAt: AT, endedAt: AT, runner: "runner-1", data };
}

export function netperfFixtureReport(series: Series, opts: { pairs?: number[]; errors?: { stage: Stage; reason: string }[]; bench?: boolean } = {}): Report {
  const pairs = opts.pairs ?? [1, 2, 3, 4, 5];
  const s = samples(pairs);
  const apply = stage<ApplyData>("apply", "pass", `applied ${series.patches.length}/${series.patches.length} patches to bpf-next`, {
    tree: "bpf-next",
    branch: "master",
    baseCommit: "a".repeat(40),
    baseRule: "given",
    baseNotes: [],
    head: "b".repeat(40),
    applied: series.patches.length,
    total: series.patches.length,
    failure: null,
    rejected: [],
  });
  const bench = stage<BenchData>("bench", "pass", `1 cell x 2 variants, ${2 * pairs.length} runs`, {
    cells: [{ test: "TCP_RR", size: 1, topology: "container" }],
    variants: [
      { name: "baseline", settings: [] },
      { name: "bpfdelay20us", settings: [] },
    ],
    design: "ABAB",
    rounds: pairs.length,
    runsPerRound: 1,
    durationSec: 3,
    pinning: { local: 0, remote: 1 },
    samples: s,
    profile: { cpu: "2 online (0-1), virtual machine", kernel: "6.18.0" },
    warnings: [],
    problems: [],
    commands: [],
  });
  const withBench = opts.bench ?? true;
  const analysis = withBench ? analyzeSamples(s, ["baseline", "bpfdelay20us"], {}) : null;
  return buildReport({
    id: "flow-patchwork",
    series,
    results: withBench ? [apply, bench] : [apply],
    errors: opts.errors ?? [],
    analysis,
    generatedAt: AT,
    tool: { name: "patchbench", version: "0.1.0" },
  });
}
