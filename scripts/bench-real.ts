/**
 * Validation of the bench on this machine, with real netperf runs (long: not part of npm test).
 *
 *   npm run bench:real -- [--parts aa,inject,detached,efficiency] [--aa 20] [--reps 8] [--delay-us 20]
 *                         [--long-reps 20] [--detached-duration 20]
 *
 * 1. A/A: the same settings on both sides ("none" vs "none"), a small matrix
 *    (TCP_RR 1 B on loopback and container), N comparisons: every improvement
 *    or regression verdict is a false positive (goal: zero).
 * 2. Injected regression: a tc-BPF egress program on the container's client veth
 *    busy-waits `delay` µs per packet (compiled here with clang). The bench
 *    (adaptive: 6 rounds per side, extended by 2 up to 16 while a cell is open) must
 *    call every container cell a regression and leave the loopback cell (not on
 *    the veth) alone; a long separate run of interleaved pairs measures the effect,
 *    and the bench's 95% CI should cover it. Then (part "detached", also run
 *    with "inject") plain vs plain on the same cells, adaptive, with runs of
 *    --detached-duration seconds (default 20): the "detached → no change" check.
 * 3. Runner-time efficiency: the seed's fixed protocol (per cell A 3 × 10 s then
 *    B 3 × 10 s) against patchbench's protocol (ABBA pairs back to back per cell,
 *    1 run × 3 s per slot, warm-up in the first round only), both A/A on TCP_RR 1 B
 *    loopback, interleaved repetitions. Precision = RMSE of the log ratio across
 *    repetitions (truth is 0: drift bias counts); cost = measured wall seconds.
 *    Seconds the patchbench protocol needs for the seed's precision =
 *    its seconds × (its RMSE / seed RMSE)²; the goal is ≤ 50% of the seed's seconds.
 *    The same is printed for the reported 95% CI width: the seed's from a Welch t
 *    over its 3 + 3 runs, patchbench's paired-t interval.
 *
 * Every figure printed comes from the runs of this invocation.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type BenchOutcome, formatBenchTable, runAndAnalyze } from "../src/cli/commands/bench-command.ts";
import type { Cell, Variant } from "../src/domain/bench.ts";
import { createLogger } from "../src/lib/logger.ts";
import { buildBusyWaitObject } from "../src/runner/bench/bpf-attach.ts";
import type { BenchPlan } from "../src/domain/bench-plan.ts";
import { mean } from "../src/stats/descriptive.ts";
import { confidenceInterval, welchT } from "../src/stats/t-interval.ts";

const log = createLogger({ level: process.env.PATCHBENCH_LOG_LEVEL ?? "warn" });
const PREFIX = "pbreal";
const NONE_A: Variant = { name: "none-A", settings: [] };
const NONE_B: Variant = { name: "none-B", settings: [] };
const pct = (x: number, d = 1): string => (Number.isFinite(x) ? `${x >= 0 ? "+" : ""}${(x * 100).toFixed(d)}%` : "-");

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

interface Ctx {
  dir: string;
  journalPath: string;
}

async function go(ctx: Ctx, plan: BenchPlan, settleMs = 200): Promise<BenchOutcome> {
  const adaptive = (plan.maxRounds ?? plan.rounds) > plan.rounds;
  return await runAndAnalyze({ plan, budgetSec: 7200, settleMs, adaptive }, { log, journalPath: ctx.journalPath, prefix: PREFIX });
}

const ppPlan = (cells: Cell[], variants: [Variant, Variant], over: Partial<BenchPlan> = {}): BenchPlan => ({
  cells,
  variants,
  rounds: 4,
  runsPerRound: 1,
  durationSec: 1,
  warmup: true,
  warmupRounds: "first",
  design: "ABBA",
  pairing: "cell",
  repairPairs: Number(arg("repair", "2")),
  seed: 1,
  pinning: { local: 0, remote: 1 },
  ...over,
});

async function partAA(ctx: Ctx, n: number): Promise<void> {
  console.log(`\n== 1. A/A: ${n} comparisons, TCP_RR 1 B loopback + container, ABBA paired per cell, 4 rounds/side x 1 x 1 s`);
  const cells: Cell[] = [
    { test: "TCP_RR", size: 1, topology: "loopback" },
    { test: "TCP_RR", size: 1, topology: "container" },
  ];
  const verdicts: Record<string, number> = {};
  let flaggedComparisons = 0;
  let failedRuns = 0;
  let runs = 0;
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    const o = await go(ctx, ppPlan(cells, [NONE_A, NONE_B], { seed: 100 + i }));
    let flagged = false;
    const line: string[] = [];
    for (const c of o.analysis.cells) {
      verdicts[c.analysis.verdict] = (verdicts[c.analysis.verdict] ?? 0) + 1;
      if (c.analysis.verdict === "improvement" || c.analysis.verdict === "regression") flagged = true;
      line.push(`${c.key} ${pct(c.analysis.change)} ${c.analysis.verdict}`);
    }
    if (flagged) flaggedComparisons++;
    failedRuns += o.result.samples.filter((s) => !s.ok).length;
    runs += o.result.samples.length;
    console.log(`  #${String(i + 1).padStart(2)} ${line.join("; ")} (load ${o.load.before} -> ${o.load.after})`);
  }
  const cellsTotal = n * cells.length;
  console.log(
    `  A/A result: ${flaggedComparisons} of ${n} comparisons with an improvement/regression verdict; cell verdicts over ${cellsTotal} cells: ${Object.entries(verdicts)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}; ${failedRuns} of ${runs} runs failed a quality gate; ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
}

async function partInject(ctx: Ctx, delayUs: number, reps: number): Promise<void> {
  console.log(`\n== 2. Injected regression: tc-BPF busy-wait ${delayUs} us per packet on the container client veth egress`);
  const object = await buildBusyWaitObject(delayUs, ctx.dir);
  const delayed: Variant = { name: `delay-${delayUs}us`, settings: [{ kind: "tc-bpf", object, section: "tc", side: "client" }] };
  const plain: Variant = { name: "plain", settings: [] };
  const cells: Cell[] = [
    { test: "TCP_RR", size: 1, topology: "container" },
    { test: "TCP_RR", size: 1024, topology: "container" },
    { test: "TCP_RR", size: 1, topology: "loopback" },
  ];
  const bench = await go(ctx, ppPlan(cells, [plain, delayed], { rounds: 6, maxRounds: 16, durationSec: 2, seed: 7 }));
  console.log(`  bench (ABBA paired per cell, adaptive 6..16 rounds/side x 1 x 2 s, warm-up first round): ${bench.rounds} rounds/side used`);
  for (const l of formatBenchTable(bench).split("\n")) console.log(`    ${l}`);
  for (const c of bench.analysis.cells) console.log(`    ${c.key}: ${c.analysis.reason}`);
  console.log(`    wall ${bench.wallSec.toFixed(0)} s, load average ${bench.load.before} -> ${bench.load.after}; problems: ${bench.result.problems.join("; ") || "none"}`);

  console.log(`  long separate run for the true effect: ${reps} interleaved pairs x 5 s per container cell`);
  const long = await go(ctx, ppPlan(cells.slice(0, 2), [plain, delayed], { rounds: reps, durationSec: 5, seed: 11 }));
  for (const c of long.analysis.cells) {
    const b = bench.analysis.cells.find((x) => x.key === c.key)?.analysis;
    const truth = c.analysis.ratio;
    const covered = b?.ci95 ? b.ci95[0] <= truth && truth <= b.ci95[1] : false;
    console.log(
      `    ${c.key}: long run ${pct(c.analysis.change)} (95% CI ${c.analysis.ci95 ? `${pct(c.analysis.ci95[0] - 1)} .. ${pct(c.analysis.ci95[1] - 1)}` : "-"}); bench ${b ? `${pct(b.change)} (95% CI ${b.ci95 ? `${pct(b.ci95[0] - 1)} .. ${pct(b.ci95[1] - 1)}` : "-"}) ${b.verdict}` : "-"}; bench CI covers the long-run estimate: ${covered ? "yes" : "NO"}`,
    );
  }
  console.log(`    long run wall ${long.wallSec.toFixed(0)} s`);
  const affected = bench.analysis.cells.filter((c) => c.key.includes("container"));
  const ok = affected.every((c) => c.analysis.verdict === "regression");
  const control = bench.analysis.cells.find((c) => c.key.includes("loopback"))?.analysis.verdict;
  console.log(`  injected result: ${affected.filter((c) => c.analysis.verdict === "regression").length} of ${affected.length} affected cells called regression (${ok ? "all" : "NOT all"}); loopback control cell: ${control}`);
}

/**
 * "Detaching it returns to no change": after the injected run (its program detached by the
 * runner), plain against plain on the injected run's cells with the same adaptive protocol.
 */
async function partDetached(ctx: Ctx, durationSec: number): Promise<void> {
  const cells: Cell[] = [
    { test: "TCP_RR", size: 1, topology: "container" },
    { test: "TCP_RR", size: 1024, topology: "container" },
    { test: "TCP_RR", size: 1, topology: "loopback" },
  ];
  // "No change" needs the noise under the CV limit; on a noisy box that takes longer runs than
  // calling a 30% regression does (--detached-duration, default 20 s: at 10 s one cell stayed noisy here).
  console.log(`\n== 2b. Detached: plain vs plain on the same cells, adaptive 6..10 rounds/side x 1 x ${durationSec} s`);
  const o = await go(ctx, ppPlan(cells, [{ name: "plain", settings: [] }, { name: "plain-again", settings: [] }], { rounds: 6, maxRounds: 10, durationSec, seed: 8 }));
  for (const l of formatBenchTable(o).split("\n")) console.log(`    ${l}`);
  for (const c of o.analysis.cells) console.log(`    ${c.key}: ${c.analysis.reason}`);
  const v = o.analysis.cells.map((c) => c.analysis.verdict);
  console.log(`  detached result: ${v.filter((x) => x === "no change").length} of ${v.length} cells "no change", ${v.filter((x) => x === "improvement" || x === "regression").length} flagged; ${o.rounds} rounds/side, wall ${o.wallSec.toFixed(0)} s`);
}

interface ProtocolStats {
  name: string;
  estimates: number[];
  seconds: number[];
  halfWidths: number[];
}

async function partEfficiency(ctx: Ctx, reps: number): Promise<void> {
  const cell: Cell[] = [{ test: "TCP_RR", size: 1, topology: "loopback" }];
  console.log(`\n== 3. Runner-time efficiency on TCP_RR 1 B loopback, A/A, ${reps} interleaved repetitions of each protocol`);
  const seedPlan = (i: number) =>
    ppPlan(cell, [NONE_A, NONE_B], { rounds: 1, runsPerRound: 3, durationSec: 10, warmup: false, design: "ABAB", seed: 300 + i });
  const ours = (i: number) => ppPlan(cell, [NONE_A, NONE_B], { rounds: 6, runsPerRound: 1, durationSec: 3, seed: 400 + i });
  const seed: ProtocolStats = { name: "seed: A 3 x 10 s then B 3 x 10 s", estimates: [], seconds: [], halfWidths: [] };
  const pb: ProtocolStats = { name: "patchbench: ABBA pairs per cell, 6 rounds x 1 x 3 s, warm-up round 1", estimates: [], seconds: [], halfWidths: [] };
  for (let i = 0; i < reps; i++) {
    for (const [stats, plan] of (i % 2 === 0 ? [[seed, seedPlan(i)], [pb, ours(i)]] : [[pb, ours(i)], [seed, seedPlan(i)]]) as [ProtocolStats, BenchPlan][]) {
      const o = await go(ctx, plan);
      const a = o.analysis.cells[0]?.analysis;
      if (!a || !Number.isFinite(a.ratio)) {
        console.log(`  ${stats.name}: repetition ${i + 1} gave no estimate (${o.incomplete.join("; ")})`);
        continue;
      }
      stats.estimates.push(Math.log(a.ratio));
      stats.seconds.push(o.wallSec);
      if (stats === seed) {
        // The seed's own interval: Welch t over its 3 + 3 runs (log throughput), what its data allows.
        const logs = (v: string) => o.result.samples.filter((x) => x.ok && x.superseded === undefined && x.variant === v).map((x) => Math.log(x.throughput));
        const ci = confidenceInterval(welchT(logs(NONE_A.name), logs(NONE_B.name)), 0.95);
        if (Number.isFinite(ci[0])) stats.halfWidths.push((ci[1] - ci[0]) / 2);
      } else if (a.ci95) stats.halfWidths.push((Math.log(a.ci95[1]) - Math.log(a.ci95[0])) / 2);
      const hw = stats.halfWidths.length === stats.estimates.length ? `, 95% CI half-width ${pct(stats.halfWidths.at(-1) ?? Number.NaN, 2)}` : "";
      console.log(`  rep ${i + 1} ${stats === seed ? "seed      " : "patchbench"} log ratio ${pct(Math.log(a.ratio), 2)}${hw}, wall ${o.wallSec.toFixed(1)} s, load ${o.load.before}${o.incomplete.length ? ` (${o.incomplete.join("; ")})` : ""}`);
    }
  }
  const rmse = (xs: number[]) => Math.sqrt(mean(xs.map((x) => x * x)));
  const rs = rmse(seed.estimates);
  const rp = rmse(pb.estimates);
  const ss = mean(seed.seconds);
  const sp = mean(pb.seconds);
  const equal = sp * (rp / rs) ** 2;
  for (const p of [seed, pb]) {
    console.log(
      `  ${p.name}: n=${p.estimates.length}, RMSE of log ratio ${pct(rmse(p.estimates), 2)}, mean wall ${mean(p.seconds).toFixed(1)} s/cell${p.halfWidths.length ? `, mean 95% CI half-width ${pct(mean(p.halfWidths), 2)}` : " (no CI)"}`,
    );
  }
  console.log(`  patchbench seconds for the seed's precision = ${sp.toFixed(1)} x (${pct(rp, 2)} / ${pct(rs, 2)})^2 = ${equal.toFixed(1)} s/cell`);
  console.log(`  => ${((equal / ss) * 100).toFixed(0)}% of the seed's ${ss.toFixed(1)} s/cell for the same precision (goal <= 50%): ${equal / ss <= 0.5 ? "met" : "NOT met"}`);
  if (seed.halfWidths.length > 0 && pb.halfWidths.length > 0) {
    const hs = mean(seed.halfWidths);
    const hp = mean(pb.halfWidths);
    const equalWidth = sp * (hp / hs) ** 2;
    console.log(
      `  same reported 95% CI width: seed (Welch over its 3 + 3 runs) half-width ${pct(hs, 2)}, patchbench (paired t) ${pct(hp, 2)}: ${sp.toFixed(1)} x (${pct(hp, 2)} / ${pct(hs, 2)})^2 = ${equalWidth.toFixed(1)} s/cell`,
    );
    console.log(`  => ${((equalWidth / ss) * 100).toFixed(0)}% of the seed's ${ss.toFixed(1)} s/cell for the same CI width (goal <= 50%): ${equalWidth / ss <= 0.5 ? "met" : "NOT met"}`);
  }
  console.log(`  (n=${reps} per protocol: an RMSE from ${reps} values is itself uncertain by about +/-${(100 / Math.sqrt(2 * reps)).toFixed(0)}%, the ratio of squares by roughly twice that)`);
}

export async function main(): Promise<void> {
  const parts = arg("parts", "aa,inject,efficiency").split(",");
  const ctx: Ctx = { dir: mkdtempSync(join(tmpdir(), "pb-bench-real-")), journalPath: "" };
  ctx.journalPath = join(ctx.dir, "journal.json");
  const t0 = Date.now();
  console.log(`bench-real: ${new Date().toISOString()}, parts ${parts.join(", ")}`);
  try {
    if (parts.includes("inject")) await partInject(ctx, Number(arg("delay-us", "20")), Number(arg("long-reps", "20")));
    if (parts.includes("inject") || parts.includes("detached")) await partDetached(ctx, Number(arg("detached-duration", "20")));
    if (parts.includes("aa")) await partAA(ctx, Number(arg("aa", "20")));
    if (parts.includes("efficiency")) await partEfficiency(ctx, Number(arg("reps", "8")));
  } finally {
    rmSync(ctx.dir, { recursive: true, force: true });
  }
  console.log(`\nbench-real done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
