import assert from "node:assert/strict";
import { test } from "node:test";
import { benchSchema } from "../config/schema.ts";
import { estimateBenchSeconds } from "./bench-plan.ts";
import { DEFAULT_KERNEL_COSTS, estimateFlowSeconds, kernelCostsOf, type PastBuild, stageSeconds, withKeptKernels } from "./flow-estimate.ts";
import type { BootRun, BuildData, KernelBuild } from "./results.ts";

const build = (commit: string, ms: number, ok = true): KernelBuild => ({ commit, ok, durationMs: ms, warnings: [], logTail: "", logPath: "", image: ok ? "/x" : null, ccache: true });
const boot = (kernel: BootRun["kernel"], ms: number): BootRun => ({ target: "qemu", kernel, outcome: "ok", reason: "", durationMs: ms, consoleTail: "", probes: [] });
const past = (base: string, baseMs: number, candMs: number, bootMs: number): PastBuild => {
  const data: BuildData = {
    config: { base: "defconfig", fragments: [], extras: [] },
    base: build(base, baseMs),
    candidate: build("c", candMs),
    newWarnings: [],
    boots: [boot("base", bootMs), boot("candidate", bootMs)],
    probeChanges: [],
  };
  return { base, data };
};

test("kernelCostsOf: defaults without history; medians of the tree's recent builds with it", () => {
  assert.deepEqual(kernelCostsOf([]), DEFAULT_KERNEL_COSTS);
  const c = kernelCostsOf([past("b1", 400_000, 90_000, 20_000), past("b2", 700_000, 120_000, 30_000), past("b3", 500_000, 60_000, 25_000)]);
  assert.deepEqual({ ...c, source: "" }, { baseBuildSec: 500, candidateBuildSec: 90, bootSec: 25, rebootSec: 25, source: "" });
  assert.match(c.source, /the last 3 build\(s\) of this tree/);
});

test("kernelCostsOf: a base built before is a ccache hit, costed as a candidate build", () => {
  const c = kernelCostsOf([past("b1", 400_000, 90_000, 20_000)], "b1");
  assert.equal(c.baseBuildSec, 90);
  assert.match(c.source, /this base was built before/);
  assert.equal(kernelCostsOf([past("b1", 400_000, 90_000, 20_000)], "other").baseBuildSec, 400);
});

test("withKeptKernels: kernels an earlier flow of the same head built cost their boots only", () => {
  const bench = benchSchema.parse({ tests: ["TCP_RR"], sizes: [1], topologies: ["loopback"] });
  const kept = withKeptKernels({ baseBuildSec: 500, candidateBuildSec: 90, bootSec: 25, rebootSec: 8, source: "t" }, "flow-1");
  assert.equal(kept.keptFrom, "flow-1");
  // A first boot per side, then one more per side and round (up to maxRounds: 16 by default).
  assert.equal(estimateFlowSeconds(bench, kept), estimateBenchSeconds(bench) + 2 * 25 + 2 * 15 * 8);
});

test("estimateFlowSeconds: the bench alone for settings sides; builds and a boot per guest and round for kernels (one per guest with bootEvery: job, one per change of side with side)", () => {
  const bench = benchSchema.parse({ tests: ["TCP_RR"], sizes: [1], topologies: ["loopback"], rounds: 4, maxRounds: 10 });
  const costs = { baseBuildSec: 500, candidateBuildSec: 90, bootSec: 25, rebootSec: 8, source: "t" };
  assert.equal(estimateFlowSeconds(bench, null), estimateBenchSeconds(bench));
  assert.equal(estimateFlowSeconds(bench, costs), estimateBenchSeconds(bench) + 500 + 90 + 2 * 25 + 2 * 9 * 8);
  assert.equal(estimateFlowSeconds({ ...bench, bootEvery: "job" }, costs), estimateBenchSeconds(bench) + 500 + 90 + 2 * 25);
  // One kernel up at a time: a boot at most at every side entry — 2 sides x 1 cell (cell pairing) x 10 rounds.
  const side = { ...bench, bootEvery: "side" as const };
  assert.equal(estimateFlowSeconds(side, costs), estimateBenchSeconds(side) + 500 + 90 + 2 * 25 + 2 * 10 * 8);
  // With side mode, pairing auto is side: one entry per side and round, however many cells; cell pairing enters per cell.
  const twoCells = { ...bench, sizes: [1, 64], bootEvery: "side" as const };
  assert.equal(estimateFlowSeconds(twoCells, costs), estimateBenchSeconds(twoCells) + 500 + 90 + 2 * 25 + 2 * 10 * 8);
  const perCell = { ...twoCells, pairing: "cell" as const };
  assert.equal(estimateFlowSeconds(perCell, costs), estimateBenchSeconds(perCell) + 500 + 90 + 2 * 25 + 2 * 2 * 10 * 8);
  const armed = { ...bench, arms: [{ name: "busy_read=50", settings: [{ kind: "sysctl" as const, key: "net.core.busy_read", value: "50" }], claimedAs: null }] };
  assert.equal(estimateFlowSeconds(armed, costs), estimateBenchSeconds(armed) + 500 + 90 + 3 * 25 + 3 * 9 * 8);
});

test("stage seconds: a kernel flow's build and bench add up to the /bench estimate; settings sides or no build count no kernel; other stages 0", () => {
  const bench = benchSchema.parse({ tests: ["TCP_RR"], sizes: [1], topologies: ["loopback"], rounds: 4, maxRounds: 10 });
  const costs = DEFAULT_KERNEL_COSTS;
  assert.equal(stageSeconds("build", bench, costs), 1200);
  assert.equal(stageSeconds("build", bench, costs) + stageSeconds("bench", bench, costs), estimateFlowSeconds(bench, costs));
  assert.equal(stageSeconds("bench", { ...bench, sides: "settings" }, costs), estimateFlowSeconds(bench, null));
  assert.equal(stageSeconds("bench", bench, null), estimateBenchSeconds(bench));
  for (const s of ["apply", "selftests"]) assert.equal(stageSeconds(s, bench, costs), 0);
});
