import { plural } from "../../report/text-layout.ts";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type BenchConfig, benchSchema } from "../../config/schema.ts";
import { type BenchSample, type Cell, cellKey, type Variant } from "../../domain/bench.ts";
import { describeError, inputError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import { tuningWarnings } from "../../runner/bench/machine-profile.ts";
import { type BenchPlan, cellsOf, estimatePlanSeconds } from "../../domain/bench-plan.ts";
import { type BenchResult, runBenchPlan } from "../../runner/bench/run-matrix.ts";
import { describeVariant, parseVariantSpec } from "../../runner/bench/variant-plan.ts";
import { describeProfile } from "../../runner/bench/describe-profile.ts";
import type { RemotePeer } from "../../runner/bench/remote-peer.ts";
import { formatPercent } from "../../stats/analyze-cell.ts";
import { adaptiveDecider } from "../../stats/adaptive-decider.ts";
import type { MatrixAnalysis } from "../../stats/analyze-matrix.ts";
import { analyzeSamples } from "../../stats/analyze-samples.ts";
import { checkSeriesClaims, type SeriesClaimCheck } from "../../stats/claims/check-series-claims.ts";
import { applyBenchFlags, type BenchFlags, listReasons } from "../bench-overrides.ts";
import { type GlobalFlags, loadConfigFromFlags, loggerFor } from "../context.ts";
import { outputClosed, watchInterrupts } from "../interrupt.ts";
import { createProgress } from "../progress.ts";

/**
 * `patchbench bench`: run an A/B netperf matrix on this machine's kernel,
 * directly (no queue), and print one line per cell with estimate, 95% CI,
 * MDE and verdict. The same runner (runBenchPlan) and statistics
 * (analyzeSamples, noise from within-pair differences) as the bench stage.
 */
export interface BenchCommandFlags extends GlobalFlags, BenchFlags {
  variant?: string[];
  matrix?: string;
  tree?: string;
  adaptive?: boolean;
  maxRounds?: string;
  design?: string;
  pairing?: string;
  warmup?: string;
  settleMs?: string;
  repair?: string;
  seed?: string;
  budget?: string;
  pin?: boolean;
  claims?: string;
  json?: boolean;
}

/** The seed's matrix: TCP_RR at 1 B, 64 B, 1 KB, 16 KB, 64 KB on loopback and container. */
export const MATRICES: Record<string, Partial<BenchConfig>> = {
  default: { tests: ["TCP_RR"], sizes: [1, 64, 1024, 16384, 65536], topologies: ["loopback", "container"] },
  small: { tests: ["TCP_RR"], sizes: [1, 1024], topologies: ["loopback", "container"] },
};

/**
 * The command's protocol (flags override it): 6 rounds/side of one 3 s run, A and B back to back
 * per cell, warm-up in the first round only. Measured on this machine (scripts/bench-real.ts) and
 * simulated (scripts/bench-validate.ts) against the stage's 3 x 10 s per round; the default
 * matrix takes about 10 minutes instead of being refused by the 1-hour budget.
 */
export const CLI_PROTOCOL: Partial<BenchConfig> = { rounds: 6, maxRounds: 16, runsPerRound: 1, durationSec: 3 };

function intOpt(reasons: string[], name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) {
    reasons.push(`--${name} expects a whole number >= ${min}, got "${v}"`);
    return undefined;
  }
  return Number(v);
}

export interface BenchRun {
  plan: BenchPlan;
  budgetSec: number;
  settleMs: number;
  adaptive: boolean;
}

/**
 * Pure: flags (over the tree's bench config and a named matrix) → the plan to
 * run. Every bad flag is named in one error, not only the first, after
 * `known` (problems found before, e.g. an unknown option).
 */
export function planFromFlags(base: BenchConfig, flags: BenchCommandFlags, known: readonly string[] = []): BenchRun {
  const reasons: string[] = [...known];
  const matrix = flags.matrix ?? "default";
  let preset = MATRICES[matrix];
  if (!preset) {
    reasons.push(`unknown --matrix "${matrix}" (known: ${Object.keys(MATRICES).join(", ")})`);
    preset = MATRICES.default!;
  }
  // Tests and topologies are checked against the schema's names there, as for `review`.
  const cfg = applyBenchFlags({ ...base, ...CLI_PROTOCOL, ...preset }, flags, reasons);
  const specs = flags.variant ?? [];
  let variants = cfg.variants as [Variant, Variant];
  if (specs.length === 2) {
    const parsed = specs.map((spec) => {
      try {
        return parseVariantSpec(spec);
      } catch (e) {
        reasons.push(describeError(e));
        return null;
      }
    });
    if (parsed[0] && parsed[1]) variants = [parsed[0], parsed[1]];
  } else if (specs.length !== 0) reasons.push(`--variant is needed exactly twice (A then B), got ${specs.length}`);
  if (variants[0].name === variants[1].name) {
    variants = [
      { ...variants[0], name: `A:${variants[0].name}`.slice(0, 40) },
      { ...variants[1], name: `B:${variants[1].name}`.slice(0, 40) },
    ];
  }
  const adaptive = flags.adaptive ?? false;
  const maxRounds = intOpt(reasons, "max-rounds", flags.maxRounds, 1) ?? (adaptive ? cfg.maxRounds : cfg.rounds);
  const design = flags.design ?? cfg.design;
  if (design !== "ABBA" && design !== "ABAB") reasons.push(`--design must be ABBA or ABAB, got "${design}"`);
  const pairing = flags.pairing ?? "cell";
  if (pairing !== "cell" && pairing !== "side") reasons.push(`--pairing must be cell or side, got "${pairing}"`);
  const warm = flags.warmup ?? (cfg.warmup ? "first" : "none");
  if (!["all", "first", "none"].includes(warm)) reasons.push(`--warmup must be all, first or none, got "${warm}"`);
  const repair = intOpt(reasons, "repair", flags.repair, 0);
  const seed = intOpt(reasons, "seed", flags.seed, 0);
  const budget = intOpt(reasons, "budget", flags.budget, 1);
  const settle = intOpt(reasons, "settle-ms", flags.settleMs, 0);
  if (reasons.length > 0) throw inputError(listReasons(reasons));
  const plan: BenchPlan = {
    cells: cellsOf(cfg),
    variants,
    rounds: cfg.rounds,
    maxRounds: adaptive ? Math.max(maxRounds, cfg.rounds) : cfg.rounds,
    runsPerRound: cfg.runsPerRound,
    durationSec: cfg.durationSec,
    warmup: warm !== "none",
    warmupRounds: warm === "all" ? "all" : "first",
    design: design as BenchPlan["design"],
    pairing: pairing as "cell" | "side",
    ...(pairing === "cell" ? { repairPairs: repair ?? 2 } : {}),
    seed: seed ?? cfg.seed,
    pinning: flags.pin === false ? null : cfg.pinning,
  };
  return {
    plan,
    budgetSec: budget ?? cfg.budgetSec,
    // Switching a sysctl or a BPF attachment per cell takes effect for the next socket; a short pause suffices.
    settleMs: settle ?? (pairing === "cell" ? 200 : 2000),
    adaptive,
  };
}

export interface BenchOutcome {
  plan: BenchPlan;
  result: BenchResult;
  analysis: MatrixAnalysis;
  /** Cells in plan order with their key. */
  cells: Cell[];
  /** Rounds per side actually run. */
  rounds: number;
  wallSec: number;
  runnerSec: number;
  /** Reasons the table is not the complete planned table (empty when it is). */
  incomplete: string[];
  claims: SeriesClaimCheck[];
  /** 1-minute load average before and after: other work on the box is the usual cause of "noisy". */
  load: { before: number | null; after: number | null };
}

function loadAverage(): number | null {
  try {
    const v = Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

/** Run a plan and analyse it (shared with scripts/bench-real.ts). */
export async function runAndAnalyze(
  run: BenchRun,
  deps: { log: Logger; journalPath: string; prefix?: string; signal?: AbortSignal; onSample?: (s: BenchSample) => void; claimsText?: string; remote?: RemotePeer | null },
): Promise<BenchOutcome> {
  const t0 = Date.now();
  const loadBefore = loadAverage();
  const names: [string, string] = [run.plan.variants[0].name, run.plan.variants[1].name];
  const result = await runBenchPlan(run.plan, {
    log: deps.log,
    journalPath: deps.journalPath,
    budgetSec: run.budgetSec,
    settleMs: run.settleMs,
    remote: deps.remote ?? null,
    ...(deps.prefix ? { prefix: deps.prefix } : {}),
    ...(deps.signal ? { signal: deps.signal } : {}),
    ...(deps.onSample ? { onSample: deps.onSample } : {}),
    ...(run.adaptive && (run.plan.maxRounds ?? 0) > run.plan.rounds ? { decide: adaptiveDecider(names, run.plan.maxRounds!) } : {}),
  });
  const wallSec = (Date.now() - t0) / 1000;
  const analysis = analyzeSamples(result.samples, names, { cells: run.plan.cells });
  const measured = new Set(analysis.cells.map((c) => c.key));
  const incomplete: string[] = [];
  if (result.aborted) incomplete.push("the run was aborted before the plan finished");
  const missing = run.plan.cells.filter((c) => !measured.has(cellKey(c)));
  if (missing.length > 0) incomplete.push(`${missing.length} cell(s) never measured: ${missing.map(cellKey).join(", ")}`);
  const failed = result.samples.filter((s) => !s.ok && s.superseded === undefined);
  if (failed.length > 0) incomplete.push(`${failed.length} of ${result.samples.length} runs failed a quality gate (their cells are noisy): ${[...new Set(failed.map((s) => s.problem))].slice(0, 3).join("; ")}`);
  const runnerSec = result.samples.reduce((a, s) => a + (Date.parse(s.endedAt) - Date.parse(s.startedAt)) / 1000, 0);
  const kernelRef = (v: Variant) => v.settings.find((s) => s.kind === "kernel")?.ref ?? null;
  const claims = deps.claimsText
    ? checkSeriesClaims(
        deps.claimsText,
        analysis.cells.flatMap((c) => {
          const cell = run.plan.cells.find((x) => cellKey(x) === c.key);
          return cell && c.analysis.ci95 && c.analysis.verdict !== "noisy"
            ? [{ test: cell.test, topology: cell.topology, size: cell.size, ratio: c.analysis.ratio, ci95: c.analysis.ci95 }]
            : [];
        }),
        { a: names[0], b: names[1], kernels: kernelRef(run.plan.variants[0]) === "base" && kernelRef(run.plan.variants[1]) === "candidate" },
      )
    : [];
  return {
    plan: run.plan,
    result,
    analysis,
    cells: run.plan.cells,
    rounds: Math.max(0, ...result.samples.map((s) => s.round + 1)),
    wallSec,
    runnerSec,
    incomplete,
    claims,
    load: { before: loadBefore, after: loadAverage() },
  };
}

const fmtQ = (x: number): string => (!Number.isFinite(x) ? "-" : x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e4 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0));
const pct1 = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : "-");
const pad = (s: string, n: number): string => (s.length >= n ? s : s + " ".repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : " ".repeat(n - s.length) + s);

/** Pure: the per-cell table. */
export function formatBenchTable(o: Pick<BenchOutcome, "analysis" | "cells">): string {
  const head = [pad("cell", 24), lpad("A", 8), lpad("B", 8), lpad("change", 8), pad("  95% CI", 20), lpad("MDE", 6), lpad("floor", 6), lpad("pairs", 5), "  verdict"].join(" ");
  const lines = [head, "-".repeat(head.length)];
  for (const c of o.analysis.cells) {
    const a = c.analysis;
    const ci = a.ci95 ? `  ${formatPercent(a.ci95[0] - 1)} .. ${formatPercent(a.ci95[1] - 1)}` : "  -";
    lines.push(
      [
        pad(c.key, 24),
        lpad(fmtQ(a.meanA), 8),
        lpad(fmtQ(a.meanB), 8),
        lpad(Number.isFinite(a.change) ? formatPercent(a.change) : "-", 8),
        pad(ci, 20),
        lpad(pct1(a.mde), 6),
        lpad(pct1(a.floor), 6),
        lpad(String(a.pairs || `${a.nA}+${a.nB}`), 5),
        `  ${a.verdict}`,
      ].join(" "),
    );
  }
  return lines.join("\n");
}

export function formatBenchReport(o: BenchOutcome): string {
  const p = o.plan;
  const L: string[] = [];
  const [va, vb] = p.variants;
  L.push(`A = ${va.name} (${describeVariant(va)})`);
  L.push(`B = ${vb.name} (${describeVariant(vb)})`);
  L.push(
    `${p.design} ${p.pairing === "cell" ? `paired per cell (A and B back to back${p.repairPairs ? `, a pair with a slow-mode or failed run measured again up to ${p.repairPairs}x` : ""})` : "per side (all cells of A, then of B)"}, ${o.rounds} rounds/side x ${p.runsPerRound} runs x ${p.durationSec} s, warm-up ${p.warmup ? (p.warmupRounds === "first" ? "first round only" : "every round") : "none"}, ${p.pinning ? `pinned -T ${p.pinning.local},${p.pinning.remote}` : "unpinned"}`,
  );
  L.push("");
  L.push(formatBenchTable(o));
  L.push("");
  L.push("values: THROUGHPUT (tps, higher is better), geometric mean of round means; change = B/A - 1 (paired t on log round means)");
  L.push("MDE: minimum detectable effect at 80% power, alpha 0.01; floor = max(1%, 2 x within-pair CV); BH across all cells");
  for (const c of o.analysis.cells) if (c.analysis.verdict !== "no change") L.push(`  ${c.key}: ${c.analysis.reason}`);
  const counts = o.analysis.counts;
  L.push("");
  L.push(
    `verdicts: ${counts.improvement} improvement, ${counts.regression} regression, ${counts["no change"]} no change, ${counts.inconclusive} inconclusive, ${counts.noisy} noisy; wall ${o.wallSec.toFixed(0)} s, measured ${o.runnerSec.toFixed(0)} s`,
  );
  if (o.claims.length > 0) {
    L.push("");
    L.push("claims:");
    for (const c of o.claims) {
      const word = c.notMeasuredBecause === "variants differ" ? "not measured (variants differ)" : c.verdict;
      L.push(`  ${word}: ${c.claim.sourceLine}`);
      L.push(`      ${c.detail}`);
    }
  }
  const profile = describeProfile(o.result.profile, o.result.peerKernel);
  L.push("");
  L.push(`machine: ${profile.cpu}; kernel ${profile.kernel}${profile["peer kernel"] ? `; peer kernel ${profile["peer kernel"]}` : ""}; netperf ${profile.netperf}`);
  L.push(`  load average (1 min): ${o.load.before ?? "?"} before, ${o.load.after ?? "?"} after, on ${o.result.profile.cpuCount} CPUs`);
  for (const w of tuningWarnings(o.result.profile)) L.push(`  not tuned: ${w}`);
  for (const pr of o.result.problems) L.push(`  problem: ${pr}`);
  if (o.incomplete.length > 0) {
    L.push("");
    L.push("INCOMPLETE - this is not the full table:");
    for (const r of o.incomplete) L.push(`  - ${r}`);
  }
  return `${L.join("\n")}\n`;
}

export async function benchCommand(flags: BenchCommandFlags): Promise<number> {
  const config = loadConfigFromFlags(flags);
  const log = loggerFor(config);
  const tree = flags.tree ? config.trees.find((t) => t.name === flags.tree) : config.trees.find((t) => t.name === config.global.defaultTree);
  if (flags.tree && !tree) throw inputError(`tree "${flags.tree}" is not configured`);
  const base = tree?.bench ?? benchSchema.parse({});
  const run = planFromFlags(base, flags);
  const claimsText = flags.claims ? readFileSync(flags.claims, "utf8") : undefined;
  mkdirSync(config.paths.dataDir, { recursive: true });
  const progress = createProgress(process.stderr, flags.json === true);
  const est = estimatePlanSeconds(run.plan, { settleMs: run.settleMs });
  progress.step(`bench: ${plural(run.plan.cells.length, "cell")} x 2 variants, up to ${run.plan.maxRounds ?? run.plan.rounds} rounds/side, about ${est} s at most`);
  // SIGINT/SIGTERM or a closed output pipe: stop measuring, restore every
  // setting, print what was measured (src/cli/interrupt.ts); 30 s of grace
  // for the teardown of namespaces, cgroups and BPF attachments.
  const ac = new AbortController();
  const interrupt = watchInterrupts({ graceMs: 30_000, onInterrupt: () => ac.abort() });
  let n = 0;
  let outcome: BenchOutcome;
  try {
    outcome = await runAndAnalyze(run, {
      log,
      journalPath: join(config.paths.dataDir, "sysctl-journal.json"),
      remote: base.remote,
      signal: ac.signal,
      onSample: (s) => {
        n++;
        if (n % 10 === 0) progress.step(`${n} runs, round ${s.round + 1}`);
      },
      ...(claimsText === undefined ? {} : { claimsText }),
    });
  } catch (e) {
    // Interrupted before a run (e.g. waiting for another benchmark's host lock): nothing measured, nothing to restore.
    if (interrupt.reason === null) throw e;
    if (!outputClosed()) process.stderr.write(`patchbench: interrupted (${interrupt.reason}) before anything was measured: ${describeError(e)}\n`);
    return interrupt.exitCode;
  } finally {
    interrupt.dispose();
    progress.done();
  }
  if (outputClosed()) return interrupt.exitCode;
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          complete: outcome.incomplete.length === 0,
          incomplete: outcome.incomplete,
          plan: outcome.plan,
          rounds: outcome.rounds,
          wallSec: outcome.wallSec,
          measuredSec: outcome.runnerSec,
          counts: outcome.analysis.counts,
          load: outcome.load,
          cells: outcome.analysis.cells,
          claims: outcome.claims,
          problems: outcome.result.problems,
          profile: outcome.result.profile,
          samples: outcome.result.samples,
        },
        null,
        2,
      )}\n`,
    );
  } else process.stdout.write(formatBenchReport(outcome));
  return outcome.incomplete.length === 0 ? 0 : outcome.result.aborted ? interrupt.exitCode : 3;
}
