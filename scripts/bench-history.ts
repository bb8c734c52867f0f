/**
 * Change points in tree history, simulated under this machine's measured noise: detection rate
 * per effect size, false change points per 100 tips and delay in tips, for Otava's published
 * method and settings (src/stats/e-divisive.ts) and for patchbench's rule (a change point that the
 * interleaved A/B ratio chain supports, src/stats/candidate-changes.ts), on the same histories.
 *
 * The noise model (CV, drift, slow mode) comes from a real netperf TCP_RR loopback series run at
 * the start of this same run, against a private netserver.
 *
 *   node --import tsx scripts/bench-history.ts [--runs 60] [--seconds 1] [--histories 200] [--tips 60] [--rounds 6]
 *     [--gap-runs 0] [--noisy-retries 1] [--seed 1] [--noise-scale 1,0.25,0.1] [--save-tps FILE] [--tps-from FILE (re-analyse a saved series instead of measuring)]
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { exec } from "../src/lib/exec.ts";
import { buildNetperfArgv } from "../src/runner/bench/netperf-command.ts";
import { startNetserver } from "../src/runner/bench/netserver.ts";
import { parseNetperfOutput } from "../src/runner/bench/parse-netperf.ts";
import { findCandidateChanges } from "../src/stats/candidate-changes.ts";
import { findChangePoints, type HistoryPoint } from "../src/stats/change-points.ts";
import { median } from "../src/stats/descriptive.ts";
import { OTAVA_SETTINGS } from "../src/stats/e-divisive.ts";
import { estimateHistoryNoise, type HistoryNoise } from "../src/stats/history-noise.ts";
import { batchHistory, type HistoryDesign } from "../src/stats/simulate-history.ts";

/** A reported change within this many tips of the true one counts as found. */
const TOLERANCE = 2;
const EFFECTS = [-0.01, -0.02, -0.05, -0.1];

interface Method {
  name: string;
  detect: (points: readonly HistoryPoint[]) => number[];
}

const METHODS: Method[] = [
  {
    name: `Otava (window ${OTAVA_SETTINGS.windowLen}, p < ${OTAVA_SETTINGS.maxPValue}, magnitude > ${OTAVA_SETTINGS.minMagnitude})`,
    detect: (h) => findChangePoints(h).map((c) => c.index),
  },
  {
    name: "patchbench: Otava's change point + A/B chain (own step, else ±1 step)",
    detect: (h) =>
      findCandidateChanges(h)
        .filter((c) => c.candidate)
        .map((c) => c.index),
  },
  {
    name: "  the same, own step only",
    detect: (h) =>
      findCandidateChanges(h, { chainHalfWidths: [0] })
        .filter((c) => c.candidate)
        .map((c) => c.index),
  },
  {
    name: "  the same, ±1 step only",
    detect: (h) =>
      findCandidateChanges(h, { chainHalfWidths: [1] })
        .filter((c) => c.candidate)
        .map((c) => c.index),
  },
];

export interface MethodScore {
  /** Per effect: share of histories whose change was found (within TOLERANCE tips). */
  detection: number[];
  /** Per effect: median tips after the change (the changed tips seen) until first found; null if never. */
  medianDelay: (number | null)[];
  /** Reported changes per 100 tips on null histories. */
  falsePer100Null: number;
  /** Reported changes away from the true one per 100 tips on histories with a change. */
  falsePer100Effect: number;
}

function near(indices: readonly number[], at: number): boolean {
  return indices.some((i) => Math.abs(i - at) <= TOLERANCE);
}

/** Tips of the change's after-side seen when a method first reports it, growing the history one tip at a time. */
function delayOf(method: Method, points: readonly HistoryPoint[], at: number): number | null {
  for (let end = at + 1; end <= points.length; end++) {
    if (near(method.detect(points.slice(0, end)), at)) return end - at;
  }
  return null;
}

export function scoreMethods(noise: HistoryNoise, design: HistoryDesign, histories: number, seed: number): MethodScore[] {
  const scores: MethodScore[] = METHODS.map(() => ({
    detection: [],
    medianDelay: [],
    falsePer100Null: 0,
    falsePer100Effect: 0,
  }));
  let nullFalse = METHODS.map(() => 0);
  for (let i = 0; i < histories; i++) {
    const h = batchHistory(noise, design, 0, i, seed);
    nullFalse = nullFalse.map((n, m) => n + METHODS[m]!.detect(h.points).length);
  }
  const effectFalse = METHODS.map(() => 0);
  for (const effect of EFFECTS) {
    const found = METHODS.map(() => 0);
    const delays: number[][] = METHODS.map(() => []);
    for (let i = 0; i < histories; i++) {
      const h = batchHistory(noise, design, effect, i, seed);
      const at = h.changeAt!;
      METHODS.forEach((method, m) => {
        const reported = method.detect(h.points);
        effectFalse[m]! += reported.filter((r) => Math.abs(r - at) > TOLERANCE).length;
        if (!near(reported, at)) return;
        found[m]!++;
        const d = delayOf(method, h.points, at);
        if (d !== null) delays[m]!.push(d);
      });
    }
    METHODS.forEach((_, m) => {
      scores[m]!.detection.push(found[m]! / histories);
      scores[m]!.medianDelay.push(delays[m]!.length > 0 ? median(delays[m]!) : null);
    });
  }
  const tips = histories * design.tips;
  METHODS.forEach((_, m) => {
    scores[m]!.falsePer100Null = (100 * nullFalse[m]!) / tips;
    scores[m]!.falsePer100Effect = (100 * effectFalse[m]!) / (tips * EFFECTS.length);
  });
  return scores;
}

/** What the A/B chain looks like under this noise: share of noisy steps, CI half-width, floor. */
export function stepSummary(noise: HistoryNoise, design: HistoryDesign, histories: number, seed: number) {
  let steps = 0;
  let missing = 0;
  const halfWidths: number[] = [];
  const floors: number[] = [];
  for (let i = 0; i < histories; i++) {
    for (const p of batchHistory(noise, design, 0, i, seed).points.slice(1)) {
      steps++;
      const r = p.ratioToPrevious;
      if (!r) {
        missing++;
        continue;
      }
      halfWidths.push((r.ciHigh - r.ciLow) / 2 / r.ratio);
      floors.push(Math.max(0.01, 2 * (r.cv ?? 0)));
    }
  }
  return {
    noisyShare: missing / steps,
    medianHalfWidth: halfWidths.length > 0 ? median(halfWidths) : null,
    medianFloor: floors.length > 0 ? median(floors) : null,
  };
}

async function measureNoise(runs: number, seconds: number): Promise<number[]> {
  const server = await startNetserver({ addr: "127.0.0.1" });
  const values: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const argv = buildNetperfArgv({
        test: "TCP_RR",
        size: 1,
        host: "127.0.0.1",
        port: server.port,
        durationSec: seconds,
        pinning: { local: 0, remote: 1 },
      });
      const res = await exec(argv, { timeoutMs: (seconds + 20) * 1000 });
      const tps = parseNetperfOutput(res.stdout).throughput;
      if (!(tps > 0)) throw new Error(`netperf run ${i + 1} gave no throughput: ${res.stdout.slice(0, 200)}`);
      values.push(tps);
    }
  } finally {
    await server.stop();
  }
  return values;
}

const pct = (x: number, d = 1): string => `${(x * 100).toFixed(d)}%`;

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      runs: { type: "string", default: "60" },
      seconds: { type: "string", default: "1" },
      histories: { type: "string", default: "200" },
      tips: { type: "string", default: "60" },
      rounds: { type: "string", default: "6" },
      "gap-runs": { type: "string", default: "0" },
      "noisy-retries": { type: "string", default: "1" },
      seed: { type: "string", default: "1" },
      "noise-scale": { type: "string", default: "1,0.25,0.1" },
      "save-tps": { type: "string" },
      "tps-from": { type: "string" },
    },
  });
  const started = Date.now();
  const runs = Number(args.runs);
  const seconds = Number(args.seconds);
  let values: number[];
  if (args["tps-from"]) {
    values = (JSON.parse(readFileSync(args["tps-from"], "utf8")) as unknown[]).map(Number);
    console.log(`Re-analysing ${values.length} netperf TCP_RR runs saved in ${args["tps-from"]}`);
  } else {
    console.log(`Measuring: ${runs} × netperf TCP_RR -l ${seconds} on loopback (pinned -T 0,1), private netserver`);
    values = await measureNoise(runs, seconds);
    if (args["save-tps"]) writeFileSync(args["save-tps"], JSON.stringify(values));
  }
  const noise = estimateHistoryNoise(values);
  console.log(
    `  tps: median ${median(values).toFixed(0)}, min ${Math.min(...values).toFixed(0)}, max ${Math.max(...values).toFixed(0)}`,
  );
  console.log(
    `  noise model: CV ${pct(noise.cv, 2)} per run, drift: level sd ${pct(noise.levelSd, 2)} with run-to-run correlation ${noise.levelCorr.toFixed(2)}, ` +
      `slow mode ${pct(noise.slowRate)} of runs${noise.slowDepth !== null ? ` at ${pct(noise.slowDepth, 0)} of the median` : ""}`,
  );
  const design: HistoryDesign = {
    tips: Number(args.tips),
    rounds: Number(args.rounds),
    gapRuns: Number(args["gap-runs"]),
    noisyRetries: Number(args["noisy-retries"]),
  };
  const histories = Number(args.histories);
  const seed = Number(args.seed);
  console.log(
    `Simulating: ${histories} histories × ${design.tips} tips per effect (and ${histories} null), each tip one interleaved A/B job ` +
      `of ${design.rounds} rounds per side against the previous tip, ${design.gapRuns} idle runs between jobs, a noisy job run again ${design.noisyRetries} time(s); seed ${seed}; ` +
      `found = reported within ±${TOLERANCE} tips of the true change`,
  );
  const t0 = Date.now();
  for (const scale of args["noise-scale"].split(",").map(Number)) {
    const scaled: HistoryNoise = { ...noise, cv: noise.cv * scale, levelSd: noise.levelSd * scale, slowRate: noise.slowRate * scale };
    console.log(
      `\nNoise ${scale === 1 ? "as measured" : `as measured × ${scale} (CV, level sd and slow-mode rate scaled: a quieter runner)`}`,
    );
    const steps = stepSummary(scaled, design, histories, seed);
    console.log(
      `  A/B chain: ${pct(steps.noisyShare)} of steps noisy (no ratio); ` +
        `median 95% CI ±${steps.medianHalfWidth === null ? "–" : pct(steps.medianHalfWidth)}, median floor ${steps.medianFloor === null ? "–" : pct(steps.medianFloor)}`,
    );
    const scores = scoreMethods(scaled, design, histories, seed);
    const header = [
      "method",
      ...EFFECTS.map((e) => `found ${pct(-e, 0)}`),
      "false/100 tips (null)",
      "false/100 tips (with change)",
      ...EFFECTS.map((e) => `delay ${pct(-e, 0)}`),
    ];
    console.log(header.join(" | "));
    METHODS.forEach((m, i) => {
      const sc = scores[i]!;
      console.log(
        [
          m.name,
          ...sc.detection.map((d) => pct(d, 0)),
          sc.falsePer100Null.toFixed(2),
          sc.falsePer100Effect.toFixed(2),
          ...sc.medianDelay.map((d) => (d === null ? "–" : String(d))),
        ].join(" | "),
      );
    });
  }
  console.log(`\n(delay: median changed tips measured before the change is first reported, over the histories where it was found)`);
  console.log(`simulation ${((Date.now() - t0) / 1000).toFixed(1)} s, total ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
