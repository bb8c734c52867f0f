import { type BenchSample, type Cell, cellKey } from "../../domain/bench.ts";
import type { BenchPlan } from "../../domain/bench-plan.ts";
import { shuffleCells, sideOrder } from "../../domain/round-order.ts";
import type { RunOutcome } from "./side-session.ts";

/**
 * The bench scheduler: a state machine without I/O that says which step comes next — enter or
 * leave a side, a warm-up or measured run, a pair measured again, the look-back at rounds 0–1,
 * an adaptive decision — and keeps the samples. The driver (run-bench-sessions.ts) executes each
 * step on a side session and hands the outcome back:
 *
 *   const s = initialState(plan, options);
 *   for (let step = nextStep(s); step.kind !== "done"; step = nextStep(s)) {
 *     run  → recordOutcome(s, await session.measure(...))
 *     decide → recordDecision(s, await decide(s.samples))
 *   }
 *
 * Sides are numbered by plan.variants (0 = the baseline); with two it is the A/B design of
 * STATISTICS.md. The functions change the state they are given (it is plain data).
 */

export type Step =
  | { kind: "enter"; side: number; round: number; slot: number }
  | { kind: "leave"; side: number }
  /** One netperf run of `cell`; a warm-up is discarded (run = 0), a measured run becomes a sample. */
  | { kind: "run"; side: number; round: number; slot: number; cell: Cell; run: number; warmup: boolean; seconds: number }
  /** Ask the adaptive decider (after `rounds` rounds): recordDecision with "stop" or "continue". */
  | { kind: "decide"; rounds: number }
  | { kind: "done" };

export type Decision = "stop" | "continue";

/** What is still to do; composite tasks are expanded when they come up, so they see the samples so far. */
type Task =
  | { t: "step"; step: Exclude<Step, { kind: "done" }> }
  | { t: "round"; round: number }
  | { t: "afterRound"; round: number }
  | { t: "pair"; round: number; cell: Cell; attempt: number }
  | { t: "pairCheck"; round: number; cell: Cell; attempt: number; first: number }
  | { t: "lookBackCell"; round: number; cell: Cell; after: number }
  | { t: "decideCheck"; round: number }
  | { t: "next"; round: number };

export interface SchedulerOptions {
  /** Length of a discarded warm-up run. Default: plan.durationSec. */
  warmupSec?: number;
  /** Whether a decider is asked after each extra pair of rounds (adaptive extension up to maxRounds). */
  adaptive?: boolean;
}

export interface SchedulerState {
  readonly plan: BenchPlan;
  readonly warmupSec: number;
  readonly adaptive: boolean;
  readonly maxRounds: number;
  /** Every measured run so far, in order; superseded ones stay, marked. */
  samples: BenchSample[];
  /** What went wrong or was repaired, in words, for the report (warm-up failures, repairs). */
  problems: string[];
  /** Rounds to run as things stand (grows by two on each "continue"). */
  target: number;
  /** Pairs that may still be measured again. */
  repairsLeft: number;
  lookedBack: boolean;
  agenda: Task[];
  /** The run or decide step whose outcome is due. */
  awaiting: Extract<Step, { kind: "run" | "decide" }> | null;
  /** A side whose kernel died and was booted again in this round (set by recordOutcome, handled once). */
  lost: { side: number; round: number; slot: number; why: string } | null;
}

/** A run below this fraction of its cell and variant's median so far is in the slow mode (as in the analysis). */
const SLOW_MODE_RATIO = 0.6;

export function initialState(plan: BenchPlan, options: SchedulerOptions = {}): SchedulerState {
  const maxRounds = Math.max(plan.rounds, plan.maxRounds ?? plan.rounds);
  const problems: string[] = [];
  if (plan.design === "ABAB" && plan.pairing !== "cell" && plan.rounds > 1) {
    // STATISTICS.md / bench-validate: ABAB per side puts every B after its A by a whole side, so
    // session drift biases every pair the same way; only back-to-back pairs per cell are safe.
    problems.push("ABAB with per-side pairing: drift between the A and B sides biases every pair the same way (use ABBA or pairing cell)");
  }
  return {
    plan,
    warmupSec: options.warmupSec ?? plan.durationSec,
    adaptive: options.adaptive ?? false,
    maxRounds,
    samples: [],
    problems,
    target: plan.rounds,
    // Re-measured pairs are capped at a quarter of all pairs (the time estimate adds as much).
    repairsLeft: Math.ceil((plan.cells.length * maxRounds) / 4),
    lookedBack: false,
    agenda: plan.rounds > 0 ? [{ t: "round", round: 0 }] : [],
    awaiting: null,
    lost: null,
  };
}

/** The sides of one round in slot order, and its cell order (shared by every side). */
export function scheduleRound(plan: BenchPlan, round: number): { sides: number[]; cells: Cell[] } {
  return { sides: sideOrder(plan.design, round, plan.variants.length), cells: shuffleCells(plan.cells, plan.seed, round) };
}

/** The next step; "done" once the plan (with its repairs and extensions) is complete. */
export function nextStep(state: SchedulerState): Step {
  if (state.awaiting) throw new Error(`bench scheduler: the outcome of the ${state.awaiting.kind} step is not recorded yet`);
  for (let task = state.agenda.shift(); task; task = state.agenda.shift()) {
    if (task.t === "step") {
      if (task.step.kind === "run" || task.step.kind === "decide") state.awaiting = task.step;
      return task.step;
    }
    state.agenda.unshift(...expand(state, task));
  }
  return { kind: "done" };
}

/** Record the outcome of the run step just given; returns the sample it made (null for a warm-up). */
export function recordOutcome(state: SchedulerState, outcome: RunOutcome): BenchSample | null {
  const step = state.awaiting;
  if (step?.kind !== "run") throw new Error("bench scheduler: no run step is waiting for an outcome");
  state.awaiting = null;
  const variant = state.plan.variants[step.side]!.name;
  if (outcome.rebooted !== undefined) state.lost = { side: step.side, round: step.round, slot: step.slot, why: `${variant}: ${outcome.rebooted}` };
  if (step.warmup) {
    if (!outcome.ok) state.problems.push(`warm-up ${cellKey(step.cell)} ${variant} round ${step.round}: ${outcome.problem}`);
    return null;
  }
  const sample: BenchSample = {
    cell: step.cell,
    variant,
    round: step.round,
    run: step.run,
    slot: step.slot,
    startedAt: outcome.startedAt,
    endedAt: outcome.endedAt,
    values: outcome.values,
    throughput: outcome.throughput,
    ok: outcome.ok,
    ...(outcome.problem === undefined ? {} : { problem: outcome.problem }),
  };
  state.samples.push(sample);
  return sample;
}

/** Record the decider's answer: "continue" adds two rounds (up to maxRounds). */
export function recordDecision(state: SchedulerState, decision: Decision): void {
  if (state.awaiting?.kind !== "decide") throw new Error("bench scheduler: no decide step is waiting for a decision");
  state.awaiting = null;
  if (decision === "continue") state.target = Math.min(state.target + 2, state.maxRounds);
}

/** Enter one side, run `cells` on it (warm-up first where due), leave. */
function sideTasks(state: SchedulerState, round: number, slot: number, side: number, cells: readonly Cell[]): Task[] {
  const { plan } = state;
  const warm = plan.warmup && (plan.warmupRounds !== "first" || round === 0);
  const out: Task[] = [{ t: "step", step: { kind: "enter", side, round, slot } }];
  for (const cell of cells) {
    if (warm) out.push({ t: "step", step: { kind: "run", side, round, slot, cell, run: 0, warmup: true, seconds: state.warmupSec } });
    for (let run = 0; run < plan.runsPerRound; run++) {
      out.push({ t: "step", step: { kind: "run", side, round, slot, cell, run, warmup: false, seconds: plan.durationSec } });
    }
  }
  out.push({ t: "step", step: { kind: "leave", side } });
  return out;
}

function expand(state: SchedulerState, task: Exclude<Task, { t: "step" }>): Task[] {
  const { plan } = state;
  switch (task.t) {
    case "round": {
      const { sides, cells } = scheduleRound(plan, task.round);
      const work: Task[] =
        plan.pairing === "cell"
          ? cells.map((cell) => ({ t: "pair", round: task.round, cell, attempt: 0 }))
          : sides.flatMap((side, slot) => sideTasks(state, task.round, slot, side, cells));
      return [...work, { t: "afterRound", round: task.round }];
    }
    case "afterRound": {
      const lost = state.lost;
      if (plan.pairing !== "cell" && lost !== null && lost.round === task.round) {
        // Per-side pairing: the side's runs of this round came partly from the dead boot; all of
        // them are measured again on the new one (not counted against the repair budget: a
        // session boots again at most once).
        state.lost = null;
        const name = plan.variants[lost.side]!.name;
        for (const x of state.samples) if (x.round === task.round && x.variant === name && x.superseded === undefined) x.superseded = lost.why;
        state.problems.push(`round ${task.round}: ${name}'s runs measured again (${lost.why})`);
        return [...sideTasks(state, task.round, lost.slot, lost.side, scheduleRound(plan, task.round).cells), task];
      }
      const out: Task[] = [];
      // The first two rounds have no history to judge the slow mode by; once two more exist, look
      // back at them with the same rule against the median of all good runs.
      if (plan.pairing === "cell" && !state.lookedBack && task.round >= 2 && task.round + 1 === Math.min(4, state.target)) {
        state.lookedBack = true;
        if ((plan.repairPairs ?? 0) > 0) {
          for (const r of [0, 1].filter((x) => x <= task.round)) {
            for (const cell of scheduleRound(plan, r).cells) out.push({ t: "lookBackCell", round: r, cell, after: task.round });
          }
        }
      }
      out.push({ t: "decideCheck", round: task.round });
      return out;
    }
    case "pair": {
      // One cell's pair of a round: every side back to back, then judged.
      const first = state.samples.length;
      const { sides } = scheduleRound(plan, task.round);
      return [
        ...sides.flatMap((side, slot) => sideTasks(state, task.round, slot, side, [task.cell])),
        { t: "pairCheck", round: task.round, cell: task.cell, attempt: task.attempt, first },
      ];
    }
    case "pairCheck": {
      const fresh = state.samples.slice(task.first);
      if (state.lost !== null) {
        // A side's kernel died during this pair and was booted again: the pair is measured again
        // on the new boot, outside the repair budget (a session boots again at most once).
        const why = state.lost.why;
        state.lost = null;
        for (const s of fresh) s.superseded = why;
        state.problems.push(`${cellKey(task.cell)} round ${task.round}: pair measured again (${why})`);
        return [{ t: "pair", round: task.round, cell: task.cell, attempt: task.attempt }];
      }
      // While the fresh pair has a problem, supersede it and measure again, within the budget.
      const why = pairProblem(state, fresh, false);
      const next = task.attempt + 1;
      if (why === null || next > (plan.repairPairs ?? 0)) return [];
      const key = cellKey(task.cell);
      if (state.repairsLeft <= 0) {
        state.problems.push(`${key} round ${task.round}: not measured again (${why}): repair budget spent`);
        return [];
      }
      state.repairsLeft--;
      for (const s of fresh) s.superseded = why;
      state.problems.push(`${key} round ${task.round}: pair measured again (${why})`);
      return [{ t: "pair", round: task.round, cell: task.cell, attempt: next }];
    }
    case "lookBackCell": {
      // A slow early pair is measured again (at most once here; the re-run is judged like any other pair).
      const key = cellKey(task.cell);
      const pair = state.samples.filter((x) => x.round === task.round && x.superseded === undefined && cellKey(x.cell) === key);
      const why = pairProblem(state, pair, true);
      if (why === null) return [];
      if (state.repairsLeft <= 0) {
        state.problems.push(`${key} round ${task.round}: not measured again (${why}): repair budget spent`);
        return [];
      }
      for (const s of pair) s.superseded = why;
      state.repairsLeft--;
      state.problems.push(`${key} round ${task.round}: pair measured again after round ${task.after} (${why})`);
      return [{ t: "pair", round: task.round, cell: task.cell, attempt: 0 }];
    }
    case "decideCheck": {
      const done = task.round + 1;
      const ask = done === state.target && state.adaptive && state.target < state.maxRounds && (done - plan.rounds) % 2 === 0;
      return [...(ask ? [{ t: "step" as const, step: { kind: "decide" as const, rounds: done } }] : []), { t: "next", round: done }];
    }
    case "next":
      return task.round < state.target ? [{ t: "round", round: task.round }] : [];
  }
}

/**
 * Why a pair should be measured again, or null: a failed run (not when looking back: a failed
 * early run is the analysis' to count), or a run in the slow mode against the median of the good,
 * current runs of its cell and variant outside the pair (needs two of them).
 */
function pairProblem(state: SchedulerState, fresh: readonly BenchSample[], lookingBack: boolean): string | null {
  for (const s of fresh) {
    if (!s.ok) return lookingBack ? null : `${s.variant}: ${s.problem ?? "failed"}`;
    const prior = state.samples.filter(
      (x) => x.ok && x.superseded === undefined && x.variant === s.variant && cellKey(x.cell) === cellKey(s.cell) && !fresh.includes(x),
    );
    if (prior.length >= 2) {
      const sorted = prior.map((x) => x.throughput).sort((a, b) => a - b);
      const med = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
      if (s.throughput < SLOW_MODE_RATIO * med) return `${s.variant}: slow mode (${s.throughput.toFixed(0)} < ${Math.round(SLOW_MODE_RATIO * 100)}% of median ${med.toFixed(0)})`;
    }
  }
  return null;
}
