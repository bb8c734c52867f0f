import assert from "node:assert/strict";
import { test } from "node:test";
import type { BenchPlan } from "../../domain/bench-plan.ts";
import { silentLogger } from "../../lib/logger.ts";
import { runBenchSessions } from "./run-bench-sessions.ts";
import type { RunOutcome, SideSession } from "./side-session.ts";

const plan = (over: Partial<BenchPlan> = {}): BenchPlan => ({
  cells: [{ test: "TCP_RR", size: 1, topology: "loopback" }],
  variants: [
    { name: "base", settings: [{ kind: "kernel", ref: "base" }] },
    { name: "candidate", settings: [{ kind: "kernel", ref: "candidate" }] },
  ],
  rounds: 2,
  runsPerRound: 1,
  durationSec: 1,
  warmup: false,
  design: "ABBA",
  seed: 1,
  pinning: null,
  ...over,
});

/** A side that records what the driver asks of it in `log` (stands in for a guest: kernel variants are fine here). */
function side(name: string, log: string[], opts: { enterFails?: boolean; leaveProblem?: string; measure?: () => RunOutcome } = {}): SideSession {
  return {
    name,
    describe: `test side ${name}`,
    async enter() {
      log.push(`enter ${name}`);
      if (opts.enterFails) throw new Error(`${name} did not resume`);
    },
    async leave() {
      log.push(`leave ${name}`);
      return opts.leaveProblem ? [opts.leaveProblem] : [];
    },
    async measure(cell, seconds) {
      log.push(`measure ${name} ${cell.size} ${seconds}s`);
      return opts.measure?.() ?? { startedAt: "a", endedAt: "b", values: {}, throughput: name === "base" ? 100 : 110, ok: true };
    },
    async close() {
      log.push(`close ${name}`);
      return [];
    },
  };
}

const deps = { log: silentLogger(), settleMs: 0 };

test("runBenchSessions executes the scheduler's steps on the sessions and closes them; kernel variants need no host", async () => {
  const log: string[] = [];
  const r = await runBenchSessions(plan(), [side("base", log), side("candidate", log)], deps);
  assert.deepEqual(log, [
    ...["enter base", "measure base 1 1s", "leave base", "enter candidate", "measure candidate 1 1s", "leave candidate"],
    ...["enter candidate", "measure candidate 1 1s", "leave candidate", "enter base", "measure base 1 1s", "leave base"],
    ...["close base", "close candidate"],
  ]);
  assert.deepEqual(r.samples.map((s) => `${s.variant}/${s.round}/${s.slot}/${s.throughput}`), ["base/0/0/100", "candidate/0/1/110", "candidate/1/0/110", "base/1/1/100"]);
  assert.equal(r.aborted, false);
});

test("runBenchSessions: a failed enter is left and closed, then the error goes on; a failed undo stops the run", async () => {
  const log: string[] = [];
  await assert.rejects(runBenchSessions(plan(), [side("base", log, { enterFails: true }), side("candidate", log)], deps), /base did not resume/);
  assert.deepEqual(log, ["enter base", "leave base", "close base", "close candidate"]);
  const log2: string[] = [];
  await assert.rejects(
    runBenchSessions(plan(), [side("base", log2, { leaveProblem: "sysctl x not restored" }), side("candidate", log2)], deps),
    /restoring after base failed: sysctl x not restored/,
  );
  assert.deepEqual(log2, ["enter base", "measure base 1 1s", "leave base", "close base", "close candidate"]);
});

test("runBenchSessions: notes of a run become problems; abort leaves the side and returns what was measured", async () => {
  const log: string[] = [];
  const ac = new AbortController();
  const notes = side("base", log, {
    measure: () => {
      ac.abort();
      return { startedAt: "a", endedAt: "b", values: {}, throughput: 1, ok: true, notes: ["guest clock stepped"] };
    },
  });
  const r = await runBenchSessions(plan(), [notes, side("candidate", log)], { ...deps, signal: ac.signal });
  assert.equal(r.aborted, true);
  assert.equal(r.samples.length, 1);
  assert.deepEqual(r.problems, ["guest clock stepped", "aborted before the plan finished"]);
  assert.deepEqual(log, ["enter base", "measure base 1 1s", "leave base", "close base", "close candidate"]);
});

test("runBenchSessions refuses sessions that do not match the plan's variants, and bad plans, closing the sessions", async () => {
  const log: string[] = [];
  await assert.rejects(runBenchSessions(plan(), [side("candidate", log), side("base", log)], deps), /side sessions \(candidate, base\) do not match the plan's variants \(base, candidate\)/);
  await assert.rejects(runBenchSessions(plan({ rounds: 0 }), [side("base", log), side("candidate", log)], deps), /invalid bench plan: rounds must be/);
  await assert.rejects(runBenchSessions(plan({ durationSec: 100, rounds: 10 }), [side("base", log), side("candidate", log)], { ...deps, budgetSec: 60 }), /matrix too large/);
  assert.equal(log.filter((l) => l.startsWith("close")).length, 6);
  assert.equal(log.filter((l) => !l.startsWith("close")).length, 0);
});
