import type { BenchSample } from "../../domain/bench.ts";
import type { BenchPlan, PlanCheckOptions } from "../../domain/bench-plan.ts";
import { planProblems } from "../../domain/bench-plan.ts";
import { inputError } from "../../lib/errors.ts";
import { acquireHostLock } from "../../lib/host-lock.ts";
import type { MachineProfile } from "./machine-profile.ts";
import { type HostSessionDeps, hostPlanProblems, openHostSessions } from "./open-host-sessions.ts";
import { runBenchSessions, type SessionsDeps } from "./run-bench-sessions.ts";

/**
 * One A/B benchmark on this machine's kernel: variants differ by sysctls, netperf socket
 * options, a cgroup sock_ops program or a tc-BPF egress program (host side sessions); the
 * bench scheduler says which run comes next (../shared/design/STATISTICS.md).
 */
export type BenchDeps = SessionsDeps & HostSessionDeps;

export interface BenchResult {
  samples: BenchSample[];
  profile: MachineProfile;
  /** The remote topology's peer kernel (`uname -r` over ssh), or null. */
  peerKernel: string | null;
  /** Everything that went wrong or was repaired, in words, for the report. */
  problems: string[];
  aborted: boolean;
}

/** Every reason the plan cannot run on the host, as one input error (nothing is touched before this). */
export function validatePlan(plan: BenchPlan, options: PlanCheckOptions = {}): void {
  const errs = planProblems(plan, options, hostPlanProblems(plan));
  if (errs.length > 0) throw inputError(`invalid bench plan: ${errs.join("; ")}`);
}

/**
 * Run a plan with the machine to itself: one benchmark per machine at a time
 * (they change host sysctls and need the CPUs), whoever starts it — a runner
 * stage, `patchbench bench` or a test.
 */
export async function runBenchPlan(plan: BenchPlan, deps: BenchDeps): Promise<BenchResult> {
  // Validate before touching anything (budget included).
  validatePlan(plan, {
    ...(deps.settleMs === undefined ? {} : { settleMs: deps.settleMs }),
    ...(deps.budgetSec === undefined ? {} : { budgetSec: deps.budgetSec }),
    ...(deps.warmupSec === undefined ? {} : { warmupSec: deps.warmupSec }),
  });
  const lock = await acquireHostLock("bench", {
    ...(deps.signal ? { signal: deps.signal } : {}),
    // A warning: with nothing else said, a wait of minutes looks like a hang (also at --log-level warn).
    onWait: (pid) => deps.log.warn({ ownerPid: pid }, "waiting for another benchmark on this machine to end (it holds the host lock)"),
  });
  try {
    const host = await openHostSessions(plan, deps);
    const r = await runBenchSessions(plan, host.sessions, deps);
    return { samples: r.samples, profile: host.profile, peerKernel: host.peerKernel, problems: [...host.problems, ...r.problems], aborted: r.aborted };
  } finally {
    lock.release();
  }
}
