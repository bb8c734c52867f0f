/**
 * Simulation study of the A/B designs and the verdict rules of src/stats (STATISTICS.md):
 * false positives per matrix, power at 2/5/10%, rounds used by the adaptive design, and the
 * runner-time efficiency of adaptive ABBA with pinned 3 s runs against the seed's fixed
 * 3 × 10 s per variant. The machine noise model is estimated from the recorded netperf noise CSVs
 * in ../shared/fixtures/netperf (PATCHBENCH_FIXTURES overrides) in this same run.
 *
 *   node --import tsx scripts/bench-validate.ts [--quick]
 *
 * The formatting functions are exported so a real A/A benchmark can print the same table.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { AnalysisOptions } from "../src/stats/analyze-cell.ts";
import { mean, variance } from "../src/stats/descriptive.ts";
import {
  type EffectBatchResult,
  type NoiseModel,
  type SessionDesign,
  simulateEffect,
} from "../src/stats/simulate-design.ts";

export interface ValidationRow {
  design: string;
  noise: string;
  analysis: string;
  /** All-null matrices. */
  null: EffectBatchResult;
  /** One batch per true effect, effect in half the cells. */
  power: EffectBatchResult[];
}

export interface Scenario {
  design: string;
  session: SessionDesign;
  noise: NoiseModel;
  analysisName: string;
  analysis: AnalysisOptions;
}

const pct = (x: number | null, d = 1): string => (x === null || Number.isNaN(x) ? "-" : `${(x * 100).toFixed(d)}%`);
const pad = (s: string, n: number): string => (s.length >= n ? s : s + " ".repeat(n - s.length));
const lpad = (s: string, n: number): string => (s.length >= n ? s : " ".repeat(n - s.length) + s);

export function runScenario(
  s: Scenario,
  cells: number,
  nullIterations: number,
  effectIterations: number,
  effects: readonly number[],
  seed: number,
): ValidationRow {
  const cfg = { design: s.session, noise: s.noise, cells, seed, analysis: s.analysis };
  return {
    design: s.design,
    noise: s.noise.name,
    analysis: s.analysisName,
    null: simulateEffect({ ...cfg, iterations: nullIterations }, 0, 0),
    power: effects.map((e) => simulateEffect({ ...cfg, iterations: effectIterations }, e, Math.floor(cells / 2))),
  };
}

/** The table: one line per design × noise model × analysis. Works for simulated or real A/A rows. */
export function formatValidationTable(rows: readonly ValidationRow[]): string {
  const effects = rows[0]?.power.map((p) => p.effect) ?? [];
  const head = [
    pad("design", 22),
    pad("noise model", 26),
    pad("noise CV from", 13),
    lpad("FPR/matrix", 10),
    lpad("null flag", 9),
    lpad("noisy", 6),
    ...effects.map((e) => lpad(`pow ${pct(e, 0)}`, 8)),
    lpad("rounds null", 11),
    lpad("rounds 5%", 9),
    lpad("s/cell", 7),
  ].join(" ");
  const lines = [head, "-".repeat(head.length)];
  for (const r of rows) {
    const five = r.power.find((p) => Math.abs(p.effect - 0.05) < 1e-9);
    lines.push(
      [
        pad(r.design, 22),
        pad(r.noise, 26),
        pad(r.analysis, 13),
        lpad(pct(r.null.fprPerMatrix), 10),
        lpad(pct(r.null.nullCellFlagRate, 2), 9),
        lpad(pct(r.null.noisyFraction, 0), 6),
        ...r.power.map((p) => lpad(pct(p.power, 0), 8)),
        lpad(r.null.meanRoundsPerSide.toFixed(1), 11),
        lpad(five ? five.meanRoundsPerSide.toFixed(1) : "-", 9),
        lpad(r.null.runnerSecondsPerCell.toFixed(0), 7),
      ].join(" "),
    );
  }
  return lines.join("\n");
}

/** Noise parameters estimated from the recorded loopback TCP_RR noise CSVs. */
export interface MachineNoise {
  /** Pooled within-batch sd of log throughput, pinned 3 s runs. */
  sigmaPinned3s: number;
  pinned3sRuns: number;
  /** sd of log throughput of the pinned 10 s runs (few runs). */
  sigmaPinned10s: number;
  pinned10sRuns: number;
  sigmaUnpinned3s: number;
  /** Change of the pinned 3 s geometric mean from batch 1 to batch 2. */
  driftBetweenBatches: number;
}

function throughputByVariant(csv: string): Map<string, number[]> {
  const lines = csv.trim().split("\n");
  const header = lines[0]!.split(",");
  const vi = header.indexOf("variant");
  const ti = header.indexOf("throughput_tps");
  const ri = header.indexOf("rc");
  const out = new Map<string, number[]>();
  for (const line of lines.slice(1)) {
    const f = line.split(",");
    if (ri >= 0 && f[ri] !== "0") continue;
    const v = Number(f[ti]);
    if (!(v > 0)) continue;
    const key = f[vi]!;
    out.set(key, [...(out.get(key) ?? []), v]);
  }
  return out;
}

export function estimateMachineNoise(batch1Csv: string, batch2Csv: string): MachineNoise {
  const b1 = throughputByVariant(batch1Csv);
  const b2 = throughputByVariant(batch2Csv);
  const logs = (xs: number[] | undefined) => (xs ?? []).map(Math.log);
  const p1 = logs(b1.get("pinned"));
  const p2 = logs(b2.get("pinned-3s"));
  const p10 = logs(b2.get("pinned-10s"));
  const u = logs(b1.get("unpinned"));
  const pooled = ((p1.length - 1) * variance(p1) + (p2.length - 1) * variance(p2)) / (p1.length + p2.length - 2);
  return {
    sigmaPinned3s: Math.sqrt(pooled),
    pinned3sRuns: p1.length + p2.length,
    sigmaPinned10s: Math.sqrt(variance(p10)),
    pinned10sRuns: p10.length,
    sigmaUnpinned3s: Math.sqrt(variance(u)),
    driftBetweenBatches: Math.exp(mean(p2) - mean(p1)) - 1,
  };
}

export interface EfficiencyResult {
  text: string;
  ratio: number;
}

/**
 * Runner-seconds per cell needed for the same precision. Precision is the RMSE of the log ratio
 * over simulated null cells (what an honest 95% CI would have to cover, ≈ 1.96 × RMSE); cost to
 * reach a target RMSE scales as seconds × RMSE² (variance ∝ 1/rounds), so each protocol's
 * seconds are rescaled to the seed protocol's RMSE.
 */
export function runnerEfficiency(
  noise: NoiseModel,
  sigma10: number,
  iterations: number,
  seed: number,
  analysis: AnalysisOptions,
  analysisName: string,
): EfficiencyResult {
  const seedNoise: NoiseModel = { ...noise, name: "seed 10 s", runCv: sigma10 };
  const seedRun = simulateEffect(
    {
      design: { order: "ABAB", rounds: 1, granularity: "cell", runsPerRound: 3, runSeconds: 10, warmupSeconds: 0 },
      noise: seedNoise,
      cells: 10,
      iterations,
      seed,
      analysis,
    },
    0,
    0,
  );
  const abba = simulateEffect(
    {
      design: {
        order: "ABBA",
        rounds: 6,
        adaptive: { step: 4, maxRounds: 16 },
        granularity: "cell",
        runsPerRound: 3,
        runSeconds: 3,
        warmupSeconds: 3,
      },
      noise,
      cells: 10,
      iterations,
      seed: seed + 1,
      analysis,
    },
    0,
    0,
  );
  const equalCost = abba.runnerSecondsPerCell * (abba.rmseLog / seedRun.rmseLog) ** 2;
  const ratio = seedRun.runnerSecondsPerCell / equalCost;
  const text = [
    `  seed protocol: per cell A 3 x 10 s then B 3 x 10 s (1 round/side, no warm-up), run sd ${pct(sigma10, 2)}`,
    `    runner s/cell ${seedRun.runnerSecondsPerCell.toFixed(0)}, RMSE of log ratio ${pct(seedRun.rmseLog, 2)} (${iterations * 10} null cells)`,
    `  adaptive ABBA: 3 x 3 s pinned + 3 s warm-up per round, 6 -> +4 -> 16 rounds/side, noise CV from ${analysisName}`,
    `    run sd ${pct(noise.runCv, 2)}, mean rounds/side ${abba.meanRoundsPerSide.toFixed(1)}, runner s/cell ${abba.runnerSecondsPerCell.toFixed(0)}, RMSE ${pct(abba.rmseLog, 2)}, mean 95% CI half-width ${pct(abba.meanCiHalfWidthLog, 2)}`,
    `  cost for the seed's RMSE = ${abba.runnerSecondsPerCell.toFixed(0)} s x (${pct(abba.rmseLog, 2)} / ${pct(seedRun.rmseLog, 2)})^2 = ${equalCost.toFixed(1)} s/cell`,
    `  efficiency (seed s / ABBA s at equal width) = ${seedRun.runnerSecondsPerCell.toFixed(0)} / ${equalCost.toFixed(1)} = ${ratio.toFixed(2)}x`,
  ].join("\n");
  return { text, ratio };
}

/**
 * Which protocol changes could reach "≤ 50% of the seed's runner-seconds for the same
 * precision"? Same machine noise model; run noise scales as 1/√(run length) (white noise within a
 * run); every run pays `overhead` seconds (netperf start + control connection, measured ≈ 0.3 s);
 * the seed pays it too. Candidates vary granularity (per slot = boots, per cell = back-to-back
 * pairs), warm-up (every round or the first only), runs per round, run length and rounds.
 */
export function candidateEfficiency(
  noise: NoiseModel,
  sigma3: number,
  iterations: number,
  seed: number,
  overhead: number,
): { name: string; ratio: number; line: string }[] {
  const scaled = (sec: number): NoiseModel => ({ ...noise, runCv: sigma3 * Math.sqrt(3 / sec) });
  const analysis: AnalysisOptions = {};
  const seedRun = simulateEffect(
    {
      design: { order: "ABAB", rounds: 1, granularity: "cell", runsPerRound: 3, runSeconds: 10, warmupSeconds: 0, runOverheadSeconds: overhead },
      noise: scaled(10),
      cells: 10,
      iterations,
      seed,
      analysis,
    },
    0,
    0,
  );
  const candidates: { name: string; design: SessionDesign; runSec: number }[] = [
    { name: "ABBA slots 6..16, 3x3 s, warm-up every round", runSec: 3, design: { order: "ABBA", rounds: 6, adaptive: { step: 4, maxRounds: 16 }, runsPerRound: 3, runSeconds: 3, warmupSeconds: 3 } },
    { name: "ABBA per cell 6..16, 3x3 s, warm-up every round", runSec: 3, design: { order: "ABBA", rounds: 6, adaptive: { step: 4, maxRounds: 16 }, granularity: "cell", runsPerRound: 3, runSeconds: 3, warmupSeconds: 3 } },
    { name: "ABBA per cell 6..16, 3x3 s, warm-up round 1", runSec: 3, design: { order: "ABBA", rounds: 6, adaptive: { step: 4, maxRounds: 16 }, granularity: "cell", runsPerRound: 3, runSeconds: 3, warmupSeconds: 3, warmupFirstRoundOnly: true } },
    { name: "ABBA per cell 6 fixed, 1x3 s, warm-up round 1", runSec: 3, design: { order: "ABBA", rounds: 6, granularity: "cell", runsPerRound: 1, runSeconds: 3, warmupSeconds: 3, warmupFirstRoundOnly: true } },
    { name: "ABBA per cell 12 fixed, 1x3 s, warm-up round 1", runSec: 3, design: { order: "ABBA", rounds: 12, granularity: "cell", runsPerRound: 1, runSeconds: 3, warmupSeconds: 3, warmupFirstRoundOnly: true } },
    { name: "ABBA per cell 12 fixed, 1x1 s, warm-up round 1", runSec: 1, design: { order: "ABBA", rounds: 12, granularity: "cell", runsPerRound: 1, runSeconds: 1, warmupSeconds: 1, warmupFirstRoundOnly: true } },
    { name: "ABBA per cell 6..16, 1x2 s, warm-up round 1", runSec: 2, design: { order: "ABBA", rounds: 6, adaptive: { step: 4, maxRounds: 16 }, granularity: "cell", runsPerRound: 1, runSeconds: 2, warmupSeconds: 2, warmupFirstRoundOnly: true } },
  ];
  return candidates.map((c, i) => {
    const r = simulateEffect(
      { design: { ...c.design, runOverheadSeconds: overhead }, noise: scaled(c.runSec), cells: 10, iterations, seed: seed + 1 + i, analysis },
      0,
      0,
    );
    const equal = r.runnerSecondsPerCell * (r.rmseLog / seedRun.rmseLog) ** 2;
    const ratio = equal / seedRun.runnerSecondsPerCell;
    return {
      name: c.name,
      ratio,
      line: `    ${pad(c.name, 48)} s/cell ${lpad(r.runnerSecondsPerCell.toFixed(0), 4)}, RMSE ${lpad(pct(r.rmseLog, 2), 6)}, rounds ${r.meanRoundsPerSide.toFixed(1)} -> ${lpad((ratio * 100).toFixed(0), 3)}% of the seed's seconds`,
    };
  }).concat([
    {
      name: "seed",
      ratio: 1,
      line: `    ${pad("seed: A 3x10 s then B 3x10 s per cell", 48)} s/cell ${lpad(seedRun.runnerSecondsPerCell.toFixed(0), 4)}, RMSE ${lpad(pct(seedRun.rmseLog, 2), 6)} (reference)`,
    },
  ]);
}

function fixturesDir(): string {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  return process.env.PATCHBENCH_FIXTURES ?? join(root, "..", "shared", "fixtures");
}

async function main(): Promise<void> {
  if (process.argv.includes("--real")) {
    // The measurements on this machine (long): scripts/bench-real.ts.
    const { main: real } = await import("./bench-real.ts");
    await real();
    return;
  }
  const quick = process.argv.includes("--quick");
  const nullIt = quick ? 200 : 1000;
  const effIt = quick ? 60 : 300;
  const effIters = quick ? 200 : 1000;
  const effects = [0.02, 0.05, 0.1];
  const t0 = Date.now();

  const dir = join(fixturesDir(), "netperf");
  const f1 = join(dir, "noise-tcp_rr-1B-loopback-10x3s.csv");
  const f2 = join(dir, "noise-tcp_rr-1B-loopback-pinned-batch2.csv");
  let machine: MachineNoise | null = null;
  if (existsSync(f1) && existsSync(f2)) machine = estimateMachineNoise(readFileSync(f1, "utf8"), readFileSync(f2, "utf8"));

  console.log(`bench-validate${quick ? " --quick" : ""}: 10-cell matrices, ${nullIt} null matrices and ${effIt} per effect (effect in 5 of 10 cells)`);
  console.log("verdict rules: BH q <= 0.05 + 95% CI excludes 0 + beyond floor max(1%, 2 x CV); cvLimit 5%; slow-mode run < 60% of median");
  console.log("rounds: 3 runs x 3 s + one 3 s warm-up per cell per slot; drift is log-linear in session clock\n");

  const noises: NoiseModel[] = [
    { name: "normal 1%", runCv: 0.01, shape: "normal" },
    { name: "log-normal 1%", runCv: 0.01, shape: "lognormal" },
    { name: "slow mode p=1% x0.3", runCv: 0.01, shape: "normal", slowModeProb: 0.01, slowModeFactor: 0.3 },
    { name: "1% + drift -18%/15min", runCv: 0.01, shape: "normal", drift: -0.18, driftSeconds: 900 },
  ];
  if (machine !== null) {
    noises.push({
      name: `VM pinned ${pct(machine.sigmaPinned3s, 1)} + drift`,
      runCv: machine.sigmaPinned3s,
      shape: "lognormal",
      drift: machine.driftBetweenBatches,
      driftSeconds: 900,
    });
  }
  const base = { runsPerRound: 3, runSeconds: 3, warmupSeconds: 3 };
  const designs: { name: string; session: SessionDesign }[] = [
    { name: "AAABBB x6 (boots)", session: { order: "AAABBB", rounds: 6, ...base } },
    { name: "ABAB x6 (boots)", session: { order: "ABAB", rounds: 6, ...base } },
    { name: "ABAB x6 (per cell)", session: { order: "ABAB", rounds: 6, granularity: "cell", ...base } },
    { name: "ABBA x6 (boots)", session: { order: "ABBA", rounds: 6, ...base } },
    { name: "ABBA 6..16 (boots)", session: { order: "ABBA", rounds: 6, adaptive: { step: 4, maxRounds: 16 }, ...base } },
  ];
  const analyses: { name: string; options: AnalysisOptions }[] = [
    { name: "rounds", options: { noiseFrom: "rounds" } },
    { name: "pairs", options: { noiseFrom: "pairs" } },
  ];
  const rows: ValidationRow[] = [];
  let seed = 1000;
  for (const a of analyses) {
    for (const n of noises) {
      for (const d of designs) {
        rows.push(runScenario({ design: d.name, session: d.session, noise: n, analysisName: a.name, analysis: a.options }, 10, nullIt, effIt, effects, seed++));
      }
    }
  }
  console.log(formatValidationTable(rows));
  console.log("\nFPR/matrix: share of all-null matrices with >= 1 improvement/regression; null flag: share of null cells flagged;");
  console.log("noisy: share of null cells called noisy; pow x%: share of changed cells called in the right direction;");
  console.log("rounds: mean rounds/side used (null matrices / 5% effect); s/cell: runner seconds per cell, null matrices.\n");

  console.log("Runner-time efficiency (same precision), from the machine noise model:");
  if (machine === null) {
    console.log(`  skipped: noise CSVs not found under ${dir}`);
  } else {
    console.log(`  estimated from ${f1.split("/").pop()} and ${f2.split("/").pop()}:`);
    console.log(`    pinned 3 s run sd (log) ${pct(machine.sigmaPinned3s, 2)} pooled within batches (${machine.pinned3sRuns} runs)`);
    console.log(`    pinned 10 s run sd ${pct(machine.sigmaPinned10s, 2)} observed (${machine.pinned10sRuns} runs); white-noise model sd3 x sqrt(3/10) = ${pct(machine.sigmaPinned3s * Math.sqrt(0.3), 2)}`);
    console.log(`    unpinned 3 s run sd ${pct(machine.sigmaUnpinned3s, 2)}; pinned batch 2 vs batch 1: ${pct(machine.driftBetweenBatches, 1)} (README: ~15 min apart, modelled as log-linear drift per 900 s)`);
    const model: NoiseModel = { name: "VM pinned 3 s", runCv: machine.sigmaPinned3s, shape: "lognormal", drift: machine.driftBetweenBatches, driftSeconds: 900 };
    const sigma10 = machine.sigmaPinned3s * Math.sqrt(0.3);
    console.log("  model: 10 s run sd = 3 s run sd x sqrt(3/10) (within-run noise averages as 1/duration); same drift for both protocols");
    for (const a of analyses) {
      console.log(runnerEfficiency(model, sigma10, effIters, 77, a.options, a.name).text);
    }
    console.log("\n  Protocol candidates, noise CV from pairs, 0.3 s overhead per netperf run, run sd x sqrt(3 s / length):");
    for (const c of candidateEfficiency(model, machine.sigmaPinned3s, effIters, 91, 0.3)) console.log(c.line);
    console.log("  note: the seed protocol's precision is computed here, not what it reports — with one round per side it");
    console.log("  has no round-level replication, so it cannot estimate its own CI or notice drift between its two blocks.");
  }
  console.log(`\ndone in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
