import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { analyzeCell, type CellInput, type RoundInput } from "./analyze-cell.ts";
import { analyzeMatrix } from "./analyze-matrix.ts";
import { nextRoundsDecision } from "./next-rounds-decision.ts";

const close = (actual: number, expected: number, tol: number, what = "") =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} vs ${expected} (tol ${tol})`);

/** Rounds 0..n−1 for both sides from per-round values (each round = 3 runs around the value). */
function cell(a: number[], b: number[], direction: CellInput["direction"] = "higher-is-better"): CellInput {
  const rounds: RoundInput[] = [];
  const spread = (v: number) => [v * 0.995, v, v * 1.005];
  a.forEach((v, i) => {
    rounds.push({ round: i, variant: "A", runs: spread(v) });
  });
  b.forEach((v, i) => {
    rounds.push({ round: i, variant: "B", runs: spread(v) });
  });
  return { rounds, direction };
}

const A6 = [1000, 1010, 995, 1005, 990, 1002];
const B6up = A6.map((v, i) => v * 1.1 * (1 + (i % 2 ? 0.003 : -0.003)));

describe("analyzeCell", () => {
  it("paired improvement: estimate, intervals, bootstrap, Mann–Whitney", () => {
    const r = analyzeCell(cell(A6, B6up), { seed: 7 });
    assert.equal(r.method, "paired-t");
    assert.equal(r.pairs, 6);
    assert.equal(r.nA, 6);
    close(r.ratio, 1.1, 0.002);
    assert.ok(r.ci95 !== null && r.ci95[0] > 1.09 && r.ci95[1] < 1.11);
    assert.ok(r.ci90 !== null && r.ci90[0] > r.ci95[0] && r.ci90[1] < r.ci95[1]);
    assert.ok(r.bootstrapCi95 !== null && r.bootstrapCi95[0] < r.ratio && r.bootstrapCi95[1] > r.ratio);
    // 6 vs 6 completely separated: exact two-sided p = 2 / C(12, 6) = 2/924
    close(r.mannWhitneyP!, 2 / 924, 1e-12);
    assert.equal(r.verdict, "improvement");
    assert.match(r.reason, /\+10\.0%/);
    assert.equal(r.roundsNeeded, null);
    // same data with the geometric means checked
    close(r.meanA, Math.exp(A6.map(Math.log).reduce((s, x) => s + x, 0) / 6), 1e-9);
  });

  it("direction: the same increase of a latency is a regression", () => {
    assert.equal(analyzeCell(cell(A6, B6up, "lower-is-better")).verdict, "regression");
    assert.equal(analyzeCell(cell(B6up, A6, "lower-is-better")).verdict, "improvement");
  });

  it("bootstrap is deterministic per seed", () => {
    const a = analyzeCell(cell(A6, B6up), { seed: 3 });
    const b = analyzeCell(cell(A6, B6up), { seed: 3 });
    assert.deepEqual(a.bootstrapCi95, b.bootstrapCi95);
  });

  it("empty runs drop the round with a reason and fall back to Welch", () => {
    const input = cell(A6, B6up);
    const rounds = input.rounds.map((r) => (r.variant === "B" && r.round === 2 ? { ...r, runs: [] } : r));
    const r = analyzeCell({ ...input, rounds });
    assert.equal(r.method, "welch");
    assert.equal(r.nA, 6);
    assert.equal(r.nB, 5);
    assert.equal(r.pairs, 0);
    assert.deepEqual(r.dropped, [{ round: 2, variant: "B", reason: "no runs" }]);
    assert.equal(r.verdict, "improvement");
  });

  it("no change when the 90% CI lies inside the floor", () => {
    const b = A6.map((v, i) => v * (1 + (i % 2 ? 0.001 : -0.001)));
    const r = analyzeCell(cell(A6, b), { noiseFrom: "rounds" });
    close(r.floor, 2 * Math.max(r.cvA, r.cvB), 1e-12);
    assert.ok(r.floor > 0.01);
    assert.equal(r.verdict, "no change");
    assert.match(r.reason, /inside floor ±1\.6%/);
  });

  it("noisy: round CV over the limit, a failed quality gate, or the slow mode", () => {
    const wild = [1000, 1200, 900, 1150, 850, 1100];
    const r = analyzeCell(cell(wild, wild.map((v) => v * 1.2)), { noiseFrom: "rounds" });
    assert.equal(r.verdict, "noisy");
    assert.match(r.reason, /round CV 1\d\.\d% > limit 5\.0%/);
    // The default takes the noise from within-pair differences: round-to-round swings shared
    // by both halves of every pair (session drift) cancel, and the +30% is found.
    const d = analyzeCell(cell(wild, wild.map((v, i) => v * 1.3 * (1 + (i % 2 ? 0.004 : -0.004)))));
    assert.equal(d.verdict, "improvement");
    assert.ok(d.noiseCv < 0.01, `within-pair CV ${d.noiseCv}`);
    // …while pairs that disagree with each other are still noisy under the default.
    const e = analyzeCell(cell(A6, A6.map((v, i) => v * (i % 2 ? 1.12 : 0.9))));
    assert.equal(e.verdict, "noisy");
    assert.match(e.reason, /within-pair CV/);
    const q = analyzeCell({ ...cell(A6, B6up), qualityProblem: "runner in slow mode" });
    assert.equal(q.verdict, "noisy");
    const input = cell(A6, B6up);
    const rounds = input.rounds.map((r) => (r.variant === "A" && r.round === 4 ? { ...r, runs: [990, 300, 995] } : r));
    const s = analyzeCell({ ...input, rounds });
    assert.equal(s.verdict, "noisy");
    assert.match(s.reason, /slow mode: 1 run\(s\) of A/);
  });

  it("over the CV limit, an effect whose whole CI lies beyond the floor is judged; slow runs only when the verdict holds without them", () => {
    // within-pair noise ≈ 10% (over the 5% limit) under a −60% change
    const a = [1000, 1100, 950, 1050, 1000, 1080];
    const b = a.map((v, i) => v * 0.4 * (i % 2 ? 1.14 : 0.87));
    const r = analyzeCell(cell(a, b));
    assert.ok(r.noiseCv > 0.05, `noise ${r.noiseCv}`);
    assert.equal(r.noisyButBeyondFloor, true);
    assert.equal(r.verdict, "regression", r.reason);
    assert.match(r.reason, /within-pair CV \d+\.\d% > limit 5\.0%, but the whole 95% CI lies beyond the floor/);
    // Same data with one slow run in A: without it the whole CI still lies beyond the floor on
    // the same side, so the slow run did not make the verdict; the reason says it was there.
    const input = cell(a, b);
    const rounds = input.rounds.map((x) => (x.variant === "A" && x.round === 1 ? { ...x, runs: [1100, 300, 1100] } : x));
    const held = analyzeCell({ ...input, rounds });
    assert.equal(held.verdict, "regression", held.reason);
    assert.match(held.reason, /slow mode: 1 run\(s\) of A below 60% of its side's median \(without them too\), but the whole 95% CI lies beyond the floor/);
    // A slow run in every B round makes a steady -23% that vanishes without them: the slow
    // runs are the verdict, so the cell is set aside.
    const flat = [1000, 1000, 1000, 1000, 1000, 1000];
    const bimodal = cell(flat, flat);
    const slowB = bimodal.rounds.map((x) => (x.variant === "B" ? { ...x, runs: [1000, 300, 1000] } : { ...x, runs: [1000, 1000, 1000] }));
    const set = analyzeCell({ ...bimodal, rounds: slowB });
    assert.equal(set.verdict, "noisy");
    assert.match(set.reason, /^slow mode: 6 run\(s\) of B below 60% of its side's median$/);
    // A smaller change inside the (2 × noise) floor stays noisy.
    const c = analyzeCell(cell(a, a.map((v, i) => v * 0.9 * (i % 2 ? 1.14 : 0.87))));
    assert.equal(c.verdict, "noisy");
  });

  it("inconclusive says how many rounds would decide, capped", () => {
    // +3% with ±3% pair-to-pair scatter: beyond the floor but the CI includes 0 at 4 pairs
    const a = [1000, 1000, 1000, 1000];
    const b = [1000 * Math.exp(0.0), 1000 * Math.exp(0.06), 1000 * Math.exp(0.0), 1000 * Math.exp(0.06)];
    const r = analyzeCell(cell(a, b), { floorCvMultiplier: 0.5 });
    assert.equal(r.verdict, "inconclusive");
    assert.ok(r.roundsNeeded !== null && r.roundsNeeded > 4 && r.roundsNeeded <= 16, String(r.roundsNeeded));
    assert.equal(r.roundsNeededCapped, false);
    const capped = analyzeCell(cell(a, b), { floorCvMultiplier: 0.5, roundsCap: 5 });
    assert.equal(capped.roundsNeeded, 5);
    assert.equal(capped.roundsNeededCapped, true);
  });

  it("MDE of a cell matches the STATISTICS.md figure (6 rounds/side, round CV 1%, α 0.01): ≈ 2.3%", () => {
    // Unpaired (different round numbers) so the Welch se = 0.01·√(2/6), df = 10.
    const c = 0.01 * Math.sqrt(5 / 6); // deviations ±c give a sample sd of exactly 0.01
    const dev = [-c, c, -c, c, -c, c];
    const rounds: RoundInput[] = [
      ...dev.map((d, i) => ({ round: i, variant: "A" as const, runs: [1000 * Math.exp(d)] })),
      ...dev.map((d, i) => ({ round: 100 + i, variant: "B" as const, runs: [1000 * Math.exp(d)] })),
    ];
    const r = analyzeCell({ rounds, direction: "higher-is-better" });
    assert.equal(r.method, "welch");
    close(r.df, 10, 1e-9);
    close(r.mde, 0.023, 0.001);
    close(r.cvA, 0.01, 0.0002);
  });

  it("too few rounds: inconclusive, not a crash", () => {
    const r = analyzeCell(cell([1000], [1100]));
    assert.equal(r.ci95, null);
    assert.equal(r.verdict, "inconclusive");
    assert.equal(r.pValue, 1);
  });
});

describe("analyzeMatrix", () => {
  // Pair log-differences 0.05, 0.01, 0.04, 0, 0.06, 0.02: mean 3%, paired t = 3.105, df 5, p ≈ 0.027.
  const modest = cell(
    [1000, 1000, 1000, 1000, 1000, 1000],
    [0.05, 0.01, 0.04, 0, 0.06, 0.02].map((d) => 1000 * Math.exp(d)),
  );
  const nullCell = (k: number) => cell(A6, A6.map((v, i) => v * (1 + ((i + k) % 2 ? 0.002 : -0.002))));
  const opts = { floorCvMultiplier: 0.5 };

  it("a p of 0.027 is an improvement alone but not after BH across 10 cells", () => {
    const alone = analyzeCell(modest, opts);
    close(alone.pValue, 0.0266, 0.001);
    assert.equal(alone.verdict, "improvement");
    const m = analyzeMatrix(
      [{ key: "modest", input: modest }, ...Array.from({ length: 9 }, (_, k) => ({ key: `n${k}`, input: nullCell(k) }))],
      opts,
    );
    assert.equal(m.m, 10);
    const first = m.cells[0]!.analysis;
    assert.ok(first.q > 0.05 && first.q >= first.pValue);
    assert.equal(first.verdict, "inconclusive");
    assert.equal(m.counts.improvement, 0);
  });

  it("noisy cells count in m but are never flagged", () => {
    const wild = [1000, 1200, 900, 1150, 850, 1100];
    const m = analyzeMatrix([
      { key: "big", input: cell(A6, B6up) },
      { key: "noisy", input: cell(wild, wild.map((v) => v * 1.2)) },
    ], { noiseFrom: "rounds" });
    assert.equal(m.m, 2);
    assert.equal(m.cells[0]!.analysis.verdict, "improvement");
    assert.equal(m.cells[1]!.analysis.verdict, "noisy");
    assert.ok(m.cells[1]!.analysis.pValue < 0.05);
  });
});

describe("nextRoundsDecision", () => {
  const decided = { key: "d", analysis: analyzeCell(cell(A6, B6up)) };
  const open = {
    key: "o",
    analysis: analyzeCell(cell([1000, 1000, 1000, 1000], [1000, 1061.8, 1000, 1061.8]), { floorCvMultiplier: 0.5 }),
  };
  it("extends only the inconclusive cells, by step, up to the cap", () => {
    assert.equal(open.analysis.verdict, "inconclusive");
    const d = nextRoundsDecision([decided, open], { roundsSoFar: 6, maxRounds: 16, step: 4 });
    assert.deepEqual([d.continue, d.extend, d.nextRounds], [true, ["o"], 10]);
    const last = nextRoundsDecision([decided, open], { roundsSoFar: 14, maxRounds: 16, step: 4 });
    assert.equal(last.nextRounds, 16);
    const cap = nextRoundsDecision([decided, open], { roundsSoFar: 16, maxRounds: 16, step: 4 });
    assert.equal(cap.continue, false);
    assert.match(cap.reason, /cap of 16/);
  });
  it("stops when every cell is decided", () => {
    const d = nextRoundsDecision([decided], { roundsSoFar: 6, maxRounds: 16, step: 4 });
    assert.deepEqual([d.continue, d.extend], [false, []]);
  });
  it("extends a cell noisy only by CV whose estimate lies beyond its floor; not one in the slow mode or inside the floor", () => {
    // -25% with pairs scattered by ~11%: over the 5% limit, CI not yet wholly beyond the 2 x CV floor.
    const a = [1000, 1000, 1000, 1000, 1000, 1000];
    const b = [905, 638, 779, 607, 861, 741];
    const big = { key: "big", analysis: analyzeCell(cell(a, b)) };
    assert.equal(big.analysis.verdict, "noisy", big.analysis.reason);
    assert.equal(big.analysis.noisyByCvOnly, true);
    assert.ok(Math.abs(big.analysis.change) > big.analysis.floor, `change ${big.analysis.change} floor ${big.analysis.floor}`);
    assert.deepEqual(nextRoundsDecision([decided, big], { roundsSoFar: 6, maxRounds: 16, step: 4 }).extend, ["big"]);
    // Same scatter around no change: the estimate is inside the floor, more rounds will not decide it.
    const flat = { key: "flat", analysis: analyzeCell(cell(a, [1090, 920, 1060, 910, 1080, 940])) };
    assert.equal(flat.analysis.verdict, "noisy", flat.analysis.reason);
    assert.deepEqual(nextRoundsDecision([flat], { roundsSoFar: 6, maxRounds: 16, step: 4 }).extend, []);
    // The slow mode is settled whatever the estimate.
    const slow = { key: "slow", analysis: analyzeCell(cell(a, [800, 790, 810, 300, 805, 795])) };
    assert.equal(slow.analysis.verdict, "noisy");
    assert.equal(slow.analysis.noisyByCvOnly, false);
    assert.deepEqual(nextRoundsDecision([slow], { roundsSoFar: 6, maxRounds: 16, step: 4 }).extend, []);
  });
});
