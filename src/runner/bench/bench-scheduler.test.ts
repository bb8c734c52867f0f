import assert from "node:assert/strict";
import { test } from "node:test";
import type { Cell } from "../../domain/bench.ts";
import type { BenchPlan } from "../../domain/bench-plan.ts";
import { shuffleCells } from "../../domain/round-order.ts";
import { type Decision, initialState, nextStep, recordDecision, recordOutcome, type SchedulerState, type Step } from "./bench-scheduler.ts";
import type { RunOutcome } from "./side-session.ts";

const c1: Cell = { test: "TCP_RR", size: 1, topology: "loopback" };
const c2: Cell = { test: "TCP_RR", size: 64, topology: "loopback" };
const plan = (over: Partial<BenchPlan> = {}): BenchPlan => ({
  cells: [c1],
  variants: [
    { name: "A", settings: [] },
    { name: "B", settings: [] },
  ],
  rounds: 2,
  runsPerRound: 1,
  durationSec: 3,
  warmup: false,
  design: "ABBA",
  seed: 1,
  pinning: null,
  ...over,
});

const ok = (throughput: number): RunOutcome => ({ startedAt: "t0", endedAt: "t1", values: { THROUGHPUT: String(throughput) }, throughput, ok: true });

/** Step words: "+A" enter, "-A" leave, "w1" warm-up of the 1-byte cell, "A0.1" measured run of round 0 on A (cell size 1), "?2" a decision after 2 rounds. */
function word(s: SchedulerState, step: Step): string {
  const name = (i: number) => s.plan.variants[i]!.name;
  switch (step.kind) {
    case "enter":
      return `+${name(step.side)}`;
    case "leave":
      return `-${name(step.side)}`;
    case "run":
      return step.warmup ? `w${step.cell.size}` : `${name(step.side)}${step.round}.${step.cell.size}`;
    case "decide":
      return `?${step.rounds}`;
    case "done":
      return "done";
  }
}

/** Drive a scheduler to the end; `outcome` answers run steps (by measured-run number, 1-based), `decide` decide steps. */
function drive(s: SchedulerState, outcome: (n: number, step: Extract<Step, { kind: "run" }>) => RunOutcome = () => ok(1000), decide: () => Decision = () => "stop"): string[] {
  const words: string[] = [];
  let n = 0;
  for (let step = nextStep(s); step.kind !== "done"; step = nextStep(s)) {
    words.push(word(s, step));
    if (step.kind === "run") recordOutcome(s, step.warmup ? ok(1000) : outcome(++n, step));
    else if (step.kind === "decide") recordDecision(s, decide());
  }
  return words;
}

test("pairing side, ABBA: a round enters each side once, warm-up before each cell's runs; round 1 runs B first", () => {
  const s = initialState(plan({ cells: [c1, c2], warmup: true, runsPerRound: 2 }));
  const words = drive(s);
  const [x, y] = shuffleCells([c1, c2], 1, 0).map((c) => c.size);
  const [u, v] = shuffleCells([c1, c2], 1, 1).map((c) => c.size);
  assert.deepEqual(words, [
    ...["+A", `w${x}`, `A0.${x}`, `A0.${x}`, `w${y}`, `A0.${y}`, `A0.${y}`, "-A"],
    ...["+B", `w${x}`, `B0.${x}`, `B0.${x}`, `w${y}`, `B0.${y}`, `B0.${y}`, "-B"],
    ...["+B", `w${u}`, `B1.${u}`, `B1.${u}`, `w${v}`, `B1.${v}`, `B1.${v}`, "-B"],
    ...["+A", `w${u}`, `A1.${u}`, `A1.${u}`, `w${v}`, `A1.${v}`, `A1.${v}`, "-A"],
  ]);
  assert.deepEqual(
    s.samples.map((x) => `${x.variant}${x.round}:${x.slot}:${x.run}`),
    ["A0:0:0", "A0:0:1", "A0:0:0", "A0:0:1", "B0:1:0", "B0:1:1", "B0:1:0", "B0:1:1", "B1:0:0", "B1:0:1", "B1:0:0", "B1:0:1", "A1:1:0", "A1:1:1", "A1:1:0", "A1:1:1"],
  );
  assert.deepEqual(s.problems, []);
});

test("pairing cell, ABAB: each cell's A and B back to back, warm-ups in round 0 only; ABAB per side is reported", () => {
  const s = initialState(plan({ cells: [c1, c2], warmup: true, warmupRounds: "first", design: "ABAB", pairing: "cell" }));
  const words = drive(s);
  const r0 = shuffleCells([c1, c2], 1, 0).map((c) => c.size);
  const r1 = shuffleCells([c1, c2], 1, 1).map((c) => c.size);
  assert.deepEqual(words, [
    ...r0.flatMap((z) => ["+A", `w${z}`, `A0.${z}`, "-A", "+B", `w${z}`, `B0.${z}`, "-B"]),
    ...r1.flatMap((z) => ["+A", `A1.${z}`, "-A", "+B", `B1.${z}`, "-B"]),
  ]);
  assert.deepEqual(s.problems, []);
  assert.match(initialState(plan({ design: "ABAB" })).problems[0] ?? "", /^ABAB with per-side pairing/);
});

test("three sides: ABBA reverses the whole order in odd rounds (index 0 stays the baseline)", () => {
  const s = initialState(plan({ variants: [{ name: "A", settings: [] }, { name: "B", settings: [] }, { name: "C", settings: [] }], pairing: "cell" }));
  assert.deepEqual(drive(s), ["+A", "A0.1", "-A", "+B", "B0.1", "-B", "+C", "C0.1", "-C", "+C", "C1.1", "-C", "+B", "B1.1", "-B", "+A", "A1.1", "-A"]);
  assert.deepEqual(s.samples.map((x) => x.slot), [0, 1, 2, 0, 1, 2]);
});

test("a failed warm-up is a problem, not a sample", () => {
  const s = initialState(plan({ warmup: true, rounds: 1 }));
  assert.deepEqual(nextStep(s), { kind: "enter", side: 0, round: 0, slot: 0 });
  const w = nextStep(s);
  assert.ok(w.kind === "run" && w.warmup && w.seconds === 3);
  assert.equal(recordOutcome(s, { ...ok(0), ok: false, problem: "netperf exited 255" }), null);
  assert.deepEqual(s.problems, ["warm-up TCP_RR/loopback/1 A round 0: netperf exited 255"]);
  assert.equal(s.samples.length, 0);
  const warmupSec = initialState(plan({ warmup: true }), { warmupSec: 1 });
  nextStep(warmupSec);
  assert.equal((nextStep(warmupSec) as { seconds: number }).seconds, 1);
});

test("repairPairs: a slow run measures the whole pair again; the old pair stays, superseded; at most repairPairs times", () => {
  // Measured runs 5 and 7 (round 2's A, then its first repeat's A) are slow; maxRounds 8 makes a budget of 2 repairs.
  const s = initialState(plan({ rounds: 4, maxRounds: 8, pairing: "cell", repairPairs: 2 }));
  const words = drive(s, (n) => ok(n === 5 || n === 7 ? 300 : 1000));
  assert.deepEqual(words.filter((w) => /\d\.1$/.test(w)), ["A0.1", "B0.1", "B1.1", "A1.1", "A2.1", "B2.1", "A2.1", "B2.1", "A2.1", "B2.1", "B3.1", "A3.1"]);
  assert.deepEqual(
    s.samples.map((x) => `${x.variant}${x.round}${x.superseded ? "x" : ""}`),
    ["A0", "B0", "B1", "A1", "A2x", "B2x", "A2x", "B2x", "A2", "B2", "B3", "A3"],
  );
  assert.match(s.samples[4]!.superseded ?? "", /^A: slow mode \(300 < 60% of median 1000\)$/);
  assert.deepEqual(s.problems.map((p) => p.replace(/ \(.*\)$/, "")), ["TCP_RR/loopback/1 round 2: pair measured again", "TCP_RR/loopback/1 round 2: pair measured again"]);
  // With repairPairs 1 the second slow pair stays (the analysis sees it).
  const one = initialState(plan({ rounds: 4, maxRounds: 8, pairing: "cell", repairPairs: 1 }));
  drive(one, (n) => ok(n === 5 || n === 7 ? 300 : 1000));
  assert.equal(one.samples.filter((x) => x.superseded).length, 2);
  assert.equal(one.samples.length, 10);
  // A failed run is a reason too (not only the slow mode).
  const failed = initialState(plan({ rounds: 1, pairing: "cell", repairPairs: 1 }));
  drive(failed, (n) => (n === 2 ? { ...ok(0), ok: false, problem: "netperf exited 1" } : ok(1000)));
  assert.equal(failed.samples[1]!.superseded, "B: netperf exited 1");
});

test("the repair budget is a quarter of all pairs: past it a bad pair is only reported", () => {
  // 1 cell x 4 rounds: one repair; every A run from the 5th on is slow.
  const s = initialState(plan({ rounds: 4, pairing: "cell", repairPairs: 3 }));
  assert.equal(s.repairsLeft, 1);
  drive(s, (n, step) => ok(n >= 5 && step.side === 0 ? 300 : 1000));
  assert.deepEqual(s.problems.map((p) => p.replace(/ \(.*\)/, "")), [
    "TCP_RR/loopback/1 round 2: pair measured again",
    "TCP_RR/loopback/1 round 2: not measured again: repair budget spent",
    "TCP_RR/loopback/1 round 3: not measured again: repair budget spent",
  ]);
});

test("look-back: a slow run in round 0 (no history then) is measured again after round 3, before the next decision", () => {
  const s = initialState(plan({ rounds: 4, maxRounds: 6, pairing: "cell", repairPairs: 2 }), { adaptive: true });
  const words = drive(s, (n) => ok(n === 1 ? 300 : 1000));
  assert.deepEqual(words.filter((w) => !/^[+-]/.test(w)), ["A0.1", "B0.1", "B1.1", "A1.1", "A2.1", "B2.1", "B3.1", "A3.1", "A0.1", "B0.1", "?4"]);
  assert.deepEqual(s.samples.filter((x) => x.superseded).map((x) => `${x.variant}${x.round}`), ["A0", "B0"]);
  assert.match(s.problems[0] ?? "", /^TCP_RR\/loopback\/1 round 0: pair measured again after round 3 \(A: slow mode/);
  // Without repairs there is no look-back.
  const plain = initialState(plan({ rounds: 4, pairing: "cell" }));
  drive(plain, (n) => ok(n === 1 ? 300 : 1000));
  assert.equal(plain.samples.length, 8);
});

test("adaptive: asked after rounds, rounds+2, …; continue adds two rounds up to maxRounds; without a decider none are asked", () => {
  const answers: Decision[] = ["continue", "continue", "continue"];
  const s = initialState(plan({ rounds: 2, maxRounds: 5 }), { adaptive: true });
  const words = drive(s, undefined, () => answers.shift()!);
  assert.deepEqual(words.filter((w) => w.startsWith("?")), ["?2", "?4"]);
  assert.equal(s.target, 5);
  assert.deepEqual([...new Set(s.samples.map((x) => x.round))], [0, 1, 2, 3, 4]);
  const stop = initialState(plan({ rounds: 2, maxRounds: 8 }), { adaptive: true });
  assert.deepEqual(drive(stop, undefined, () => "stop").filter((w) => w.startsWith("?")), ["?2"]);
  assert.equal(stop.samples.length, 4);
  const fixed = initialState(plan({ rounds: 3, maxRounds: 8 }));
  assert.equal(drive(fixed).filter((w) => w.startsWith("?")).length, 0);
  assert.equal(fixed.samples.length, 6);
});

test("the protocol: an outcome is due before the next step; outcomes and decisions only when asked", () => {
  const s = initialState(plan({ rounds: 1 }));
  assert.throws(() => recordOutcome(s, ok(1)), /no run step is waiting/);
  nextStep(s);
  nextStep(s);
  assert.throws(() => nextStep(s), /outcome of the run step is not recorded yet/);
  assert.throws(() => recordDecision(s, "stop"), /no decide step is waiting/);
  recordOutcome(s, ok(1));
  assert.deepEqual(nextStep(s), { kind: "leave", side: 0 });
  // The state is plain data: it survives a JSON round trip mid-plan.
  const copy = JSON.parse(JSON.stringify(s)) as SchedulerState;
  assert.deepEqual(drive(copy), drive(s));
});

const lost = (why: string): RunOutcome => ({ startedAt: "t0", endedAt: "t1", values: {}, throughput: 0, ok: false, problem: why, rebooted: why });

test("a side whose kernel died and was booted again: cell pairing measures the pair again, outside the repair budget", () => {
  const s = initialState(plan({ pairing: "cell", runsPerRound: 2, repairPairs: 0 }));
  // The 3rd measured run is B's first of round 0 (A A B B): B's kernel dies there.
  const words = drive(s, (n) => (n === 3 ? lost("guest died") : ok(1000)));
  assert.deepEqual(words.slice(0, 14), ["+A", "A0.1", "A0.1", "-A", "+B", "B0.1", "B0.1", "-B", "+A", "A0.1", "A0.1", "-A", "+B", "B0.1"]);
  const current = s.samples.filter((x) => x.superseded === undefined);
  assert.equal(current.length, 2 * 2 * 2, "two rounds x two sides x two runs, none from the dead boot");
  assert.ok(current.every((x) => x.ok));
  const gone = s.samples.filter((x) => x.superseded !== undefined);
  assert.deepEqual(gone.map((x) => `${x.variant}${x.round}:${x.superseded}`), ["A0:B: guest died", "A0:B: guest died", "B0:B: guest died", "B0:B: guest died"]);
  assert.deepEqual(s.problems, ["TCP_RR/loopback/1 round 0: pair measured again (B: guest died)"]);
});

test("a side whose kernel died and was booted again: side pairing measures that side's runs of the round again", () => {
  const s = initialState(plan({ cells: [c1, c2], runsPerRound: 1 }));
  // Round 0 is A then B (cells in the seed's order: 1 B, then 64 B); B's second run fails with a reboot.
  const words = drive(s, (n) => (n === 4 ? lost("guest died") : ok(1000)));
  assert.deepEqual(words.slice(0, 12), ["+A", "A0.1", "A0.64", "-A", "+B", "B0.1", "B0.64", "-B", "+B", "B0.1", "B0.64", "-B"]);
  const current = s.samples.filter((x) => x.superseded === undefined);
  assert.equal(current.length, 2 * 2 * 2);
  assert.deepEqual(s.samples.filter((x) => x.superseded !== undefined).map((x) => `${x.variant}${x.round}.${x.cell.size}`), ["B0.1", "B0.64"]);
  assert.deepEqual(s.problems, ["round 0: B's runs measured again (B: guest died)"]);
});
