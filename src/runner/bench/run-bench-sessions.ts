import { setTimeout as sleep } from "node:timers/promises";
import { type BenchSample, cellKey } from "../../domain/bench.ts";
import { type BenchPlan, defaultSettleMs, planProblems } from "../../domain/bench-plan.ts";
import { infraError, inputError } from "../../lib/errors.ts";
import type { Logger } from "../../lib/logger.ts";
import { type Decision, initialState, nextStep, recordDecision, recordOutcome, type SchedulerState } from "./bench-scheduler.ts";
import type { RunOutcome, SideSession } from "./side-session.ts";

export interface SessionsDeps {
  log: Logger;
  onSample?: (s: BenchSample) => void;
  signal?: AbortSignal;
  /**
   * Adaptive hook: called after each pair of rounds once `rounds` is reached
   * (rounds, rounds+2, …) while below `maxRounds`; "continue" runs two more rounds.
   */
  decide?: (samples: readonly BenchSample[]) => Decision | Promise<Decision>;
  /** Refuse plans whose estimated wall time (at maxRounds) exceeds this. */
  budgetSec?: number;
  /** Pause after entering a side. Default: defaultSettleMs(plan). */
  settleMs?: number;
  /** Length of the discarded warm-up run. Default: durationSec. */
  warmupSec?: number;
}

export interface SessionsResult {
  samples: BenchSample[];
  /** Everything that went wrong or was repaired, in words, for the report. */
  problems: string[];
  aborted: boolean;
}

class Aborted extends Error {}

/** Every reason the plan cannot run whatever the sides are, as one input error (nothing is touched before this). */
export function assertPlanRunnable(plan: BenchPlan, deps: Pick<SessionsDeps, "budgetSec" | "settleMs" | "warmupSec">, extra: readonly string[] = []): void {
  const errs = planProblems(
    plan,
    {
      ...(deps.budgetSec === undefined ? {} : { budgetSec: deps.budgetSec }),
      ...(deps.settleMs === undefined ? {} : { settleMs: deps.settleMs }),
      ...(deps.warmupSec === undefined ? {} : { warmupSec: deps.warmupSec }),
    },
    extra,
  );
  if (errs.length > 0) throw inputError(`invalid bench plan: ${errs.join("; ")}`);
}

/**
 * Run a plan on ready-made side sessions (one per plan variant, in plan order): ask the
 * scheduler for each step and execute it on its session. Every session is closed at the end,
 * also after an error; an abort (deps.signal) stops between runs and returns what was measured.
 * The caller holds the machine (see runBenchPlan's host lock).
 */
export async function runBenchSessions(plan: BenchPlan, sessions: readonly SideSession[], deps: SessionsDeps): Promise<SessionsResult> {
  const log = deps.log;
  const problems: string[] = [];
  let state: SchedulerState | null = null;
  let told = 0;
  /** Hand on what the scheduler noted since last time (warm-up failures, repairs). */
  const drain = () => {
    if (!state) return;
    for (const p of state.problems.slice(told)) {
      problems.push(p);
      if (/measured again/.test(p)) log.info({ problem: p }, "pair measured again");
    }
    told = state.problems.length;
  };
  const checkAbort = () => {
    if (deps.signal?.aborted) throw new Aborted("aborted");
  };
  let failure: { err: unknown } | null = null;
  let aborted = false;
  let entered: SideSession | null = null;
  try {
    assertPlanRunnable(plan, deps);
    const names = sessions.map((s) => s.name);
    if (names.join("\n") !== plan.variants.map((v) => v.name).join("\n")) {
      throw inputError(`the side sessions (${names.join(", ")}) do not match the plan's variants (${plan.variants.map((v) => v.name).join(", ")})`);
    }
    const settleMs = deps.settleMs ?? defaultSettleMs(plan);
    const s = initialState(plan, { adaptive: deps.decide !== undefined, ...(deps.warmupSec === undefined ? {} : { warmupSec: deps.warmupSec }) });
    state = s;
    for (let step = nextStep(s); step.kind !== "done"; step = nextStep(s)) {
      drain();
      if (step.kind === "enter") {
        checkAbort();
        entered = sessions[step.side]!;
        await entered.enter(deps.signal, step.round);
        log.debug({ round: step.round, slot: step.slot, variant: entered.name }, "side entered");
        await sleep(settleMs, undefined, deps.signal ? { signal: deps.signal } : {}).catch(() => undefined);
      } else if (step.kind === "leave") {
        const side = sessions[step.side]!;
        entered = null;
        const errs = await side.leave();
        problems.push(...errs);
        if (errs.length > 0) throw infraError(`restoring after ${side.name} failed: ${errs.join("; ")}`);
      } else if (step.kind === "run") {
        checkAbort();
        let o: RunOutcome;
        try {
          o = await sessions[step.side]!.measure(step.cell, step.seconds, deps.signal);
        } catch (err) {
          if (deps.signal?.aborted) throw new Aborted("aborted");
          throw err;
        }
        problems.push(...(o.notes ?? []));
        const sample = recordOutcome(s, o);
        drain();
        if (sample) {
          if (!sample.ok) log.warn({ cell: cellKey(sample.cell), variant: sample.variant, problem: sample.problem }, "netperf run failed");
          deps.onSample?.(sample);
        }
      } else {
        const d = await deps.decide!(s.samples);
        log.info({ rounds: step.rounds, decision: d }, "adaptive decision");
        recordDecision(s, d);
      }
    }
    drain();
  } catch (err) {
    drain();
    // Leave the side being measured (its undo runs even when measuring failed or was aborted).
    if (entered !== null) {
      const side: SideSession = entered;
      problems.push(...(await side.leave().catch((e: unknown) => [`leaving ${side.name}: ${(e as Error).message}`])));
    }
    if (err instanceof Aborted) {
      aborted = true;
      problems.push("aborted before the plan finished");
      log.warn({ samples: state?.samples.length ?? 0 }, "bench aborted");
    } else failure = { err };
  } finally {
    for (const s of sessions) problems.push(...(await s.close().catch((e: unknown) => [`closing ${s.name}: ${(e as Error).message}`])));
  }
  if (failure) throw failure.err;
  return { samples: state?.samples ?? [], problems, aborted };
}
