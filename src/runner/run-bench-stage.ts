import type { BenchSample, Cell, Variant } from "../domain/bench.ts";
import type { BenchData, StageResult } from "../domain/results.ts";
import { combineStatus } from "../domain/status.ts";
import type { Logger } from "../lib/logger.ts";
import type { StageJob } from "../queue/payloads.ts";
import { buildNetperfArgv } from "./bench/netperf-command.ts";
import { runBenchPlan } from "./bench/run-matrix.ts";
import { tuningWarnings } from "./bench/machine-profile.ts";

/** Cells of a bench config: tests × sizes × topologies. */
export function cellsOf(bench: StageJob["bench"]): Cell[] {
  const cells: Cell[] = [];
  for (const test of bench.tests)
    for (const topology of bench.topologies) for (const size of bench.sizes) cells.push({ test, size, topology });
  return cells;
}

/** The bench stage: the tree's netperf matrix, A vs B variants, on this host's kernel. */
export async function runBenchStage(
  job: StageJob,
  deps: {
    log: Logger;
    runner: string;
    journalPath: string;
    signal?: AbortSignal;
    /** Adaptive rounds: asked after each extra pair of rounds (wired by the worker from src/stats). */
    decide?: (samples: readonly BenchSample[]) => "stop" | "continue";
  },
): Promise<StageResult<BenchData>> {
  const startedAt = new Date().toISOString();
  const b = job.bench;
  const cells = cellsOf(b);
  const variants = b.variants as [Variant, Variant];
  const out = await runBenchPlan(
    {
      cells,
      variants,
      rounds: b.rounds,
      maxRounds: deps.decide ? b.maxRounds : b.rounds,
      runsPerRound: b.runsPerRound,
      durationSec: b.durationSec,
      warmup: b.warmup,
      design: b.design,
      seed: b.seed,
      pinning: b.pinning,
    },
    {
      log: deps.log,
      journalPath: deps.journalPath,
      budgetSec: b.budgetSec,
      ...(deps.signal ? { signal: deps.signal } : {}),
      ...(deps.decide ? { decide: deps.decide } : {}),
    },
  );
  const profile: Record<string, string> = {};
  for (const [k, v] of Object.entries(out.profile)) {
    if (v === null || v === undefined) continue;
    profile[k] = typeof v === "object" ? JSON.stringify(v) : String(v);
  }
  const commands = cells
    .filter((c, i, all) => all.findIndex((x) => x.topology === c.topology) === i)
    .map((c) =>
      buildNetperfArgv({
        test: c.test,
        host: c.topology === "loopback" ? "127.0.0.1" : c.topology === "container" ? "192.0.2.2" : "198.51.100.2",
        port: 12865,
        durationSec: b.durationSec,
        size: c.size,
        pinning: b.pinning,
        netns: c.topology === "loopback" ? null : "<client-netns>",
      }).join(" "),
    );
  const okRuns = out.samples.filter((s) => s.ok).length;
  const failedRuns = out.samples.length - okRuns;
  const status = out.aborted ? "error" : combineStatus([out.problems.length > 0 || failedRuns > 0 ? "warn" : "pass"]);
  return {
    stage: "bench",
    status,
    summary: `${cells.length} cells x 2 variants, ${okRuns} runs${failedRuns ? `, ${failedRuns} failed` : ""}`,
    startedAt,
    endedAt: new Date().toISOString(),
    runner: deps.runner,
    data: {
      cells,
      variants,
      design: b.design,
      rounds: Math.max(0, ...out.samples.map((s) => s.round + 1)),
      runsPerRound: b.runsPerRound,
      durationSec: b.durationSec,
      pinning: b.pinning,
      samples: out.samples,
      profile,
      warnings: tuningWarnings(out.profile),
      problems: out.problems,
      commands,
    },
  };
}
