import type { BenchSample, Cell, Variant } from "../domain/bench.ts";
import type { BenchData, StageResult } from "../domain/results.ts";
import { combineStatus } from "../domain/status.ts";
import type { Logger } from "../lib/logger.ts";
import type { StageJob } from "../queue/payloads.ts";
import { buildNetperfArgv } from "./bench/netperf-command.ts";
import { type BenchPlan, runBenchPlan } from "./bench/run-matrix.ts";
import { describeVariant } from "./bench/variant-plan.ts";
import { type MachineProfile, tuningWarnings } from "./bench/machine-profile.ts";

/** Cells of a bench config: tests × sizes × topologies. */
export function cellsOf(bench: StageJob["bench"]): Cell[] {
  const cells: Cell[] = [];
  for (const test of bench.tests)
    for (const topology of bench.topologies) for (const size of bench.sizes) cells.push({ test, size, topology });
  return cells;
}

/** The machine profile as short "name: value" lines for reports (full profile stays in the result). */
export function describeProfile(p: MachineProfile): Record<string, string> {
  const sysctls = Object.entries(p.sysctls)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${String(v).replace(/\s+/g, " ")}`);
  return {
    cpu: `${p.cpuModel ?? "unknown"}, ${p.cpuCount} online (${p.onlineCpus})${p.isVirtual ? ", virtual machine" : ""}`,
    kernel: p.kernelRelease,
    "governor/SMT/turbo": `${p.governor} / ${p.smt} / ${p.turbo}`,
    isolcpus: p.isolatedCpus || "none",
    irqs: `${p.irqAffinity.total} IRQs, ${p.irqAffinity.spreadOverAll} spread over all CPUs`,
    netperf: p.netperfVersion ?? "unknown",
    sysctls: sysctls.join(", "),
    cmdline: p.kernelCmdline.length > 200 ? `${p.kernelCmdline.slice(0, 200)}...` : p.kernelCmdline,
  };
}

/** Commands a maintainer can paste to repeat one run of each cell by hand. */
export function reproduceCommands(bench: StageJob["bench"], cells: readonly Cell[], variants: readonly Variant[]): string[] {
  const out: string[] = [];
  for (const v of variants) {
    const s = v.settings.flatMap((x) => (x.kind === "sysctl" ? [`${x.key}=${x.value}`] : []));
    if (s.length) out.push(`# ${v.name}: sysctl -w ${s.join(" ")}`);
    const other = v.settings.filter((x) => x.kind !== "sysctl" && x.kind !== "kernel");
    if (other.length) out.push(`# ${v.name}: ${describeVariant({ name: v.name, settings: other })}`);
  }
  const servers = new Set<string>();
  for (const c of cells) {
    const host = c.topology === "loopback" ? "127.0.0.1" : c.topology === "container" ? "192.0.2.2" : "198.51.100.2";
    const ns = c.topology === "loopback" ? null : "pb-client";
    if (!servers.has(c.topology)) {
      servers.add(c.topology);
      if (ns) out.push(`# ${c.topology}: two network namespaces, see README "Topologies"`);
      out.push(`${ns ? "ip netns exec pb-server " : ""}netserver -L ${host},inet -p 12865 -D &`);
    }
    out.push(
      buildNetperfArgv({
        test: c.test,
        host,
        port: 12865,
        durationSec: bench.durationSec,
        size: c.size,
        pinning: bench.pinning,
        netns: ns,
        keys: ["THROUGHPUT", "MEAN_LATENCY", "P99_LATENCY"],
      }).join(" "),
    );
  }
  return out;
}

/**
 * The runner's plan for a bench config: the one translation used by the
 * bench stage, plan validation before queueing and time estimates.
 * Without `adaptive`, the plan stops at `rounds`.
 */
export function benchPlanOf(b: StageJob["bench"], opts: { adaptive: boolean } = { adaptive: true }): BenchPlan {
  const variants = b.variants as [Variant, Variant];
  return {
    cells: cellsOf(b),
    variants,
    rounds: b.rounds,
    maxRounds: opts.adaptive ? b.maxRounds : b.rounds,
    runsPerRound: b.runsPerRound,
    durationSec: b.durationSec,
    warmup: b.warmup,
    design: b.design,
    seed: b.seed,
    pinning: b.pinning,
    pairing: b.pairing === "auto" ? (variants.some((v) => v.settings.some((x) => x.kind === "kernel")) ? "side" : "cell") : b.pairing,
    warmupRounds: b.warmupRounds,
  };
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
    benchPlanOf(b, { adaptive: deps.decide !== undefined }),
    {
      log: deps.log,
      journalPath: deps.journalPath,
      budgetSec: b.budgetSec,
      // A sysctl or BPF attach takes effect for the next socket: per-cell switching needs no 2 s settle.
      ...(b.pairing !== "side" && !variants.some((v) => v.settings.some((x) => x.kind === "kernel")) ? { settleMs: 200 } : {}),
      ...(deps.signal ? { signal: deps.signal } : {}),
      ...(deps.decide ? { decide: deps.decide } : {}),
    },
  );
  const profile = describeProfile(out.profile);
  const commands = reproduceCommands(job.bench, cells, variants);
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
      warmup: b.warmup,
      warmupRounds: b.warmupRounds,
      pinning: b.pinning,
      samples: out.samples,
      profile,
      warnings: tuningWarnings(out.profile),
      problems: out.problems,
      commands,
    },
  };
}
