import type { BenchSample, Cell } from "../../domain/bench.ts";

/**
 * Where one side of an A/B benchmark runs: a kernel plus settings. The host
 * session applies a variant's sysctls and BPF programs on the runner's own
 * kernel; a guest session is a booted base or candidate kernel under QEMU,
 * resumed while it measures and paused while the other side does (the ssh
 * target plugs in the same way). The scheduler decides which run comes next;
 * a session only executes it.
 */
export interface SideSession {
  /** The side's name as written into every sample (`variant`). */
  readonly name: string;
  /** What this side is, for reports: "host, busy_read=50", "candidate kernel (qemu tcg), no change". */
  readonly describe: string;
  /**
   * Make this side the one being measured: resume its guest, apply its settings. On failure it
   * undoes what it did and throws; the driver still calls leave() after it. `round` is the
   * scheduler's round (a side that boots afresh per round starts a new boot when it changes).
   */
  enter(signal?: AbortSignal, round?: number): Promise<void>;
  /**
   * Stop measuring on this side for now; returns problems in words (an undo that failed: the
   * driver then stops the benchmark). Called after every enter, also a failed or aborted one.
   */
  leave(): Promise<string[]>;
  /**
   * One netperf run of `cell` lasting `seconds`, on this side (entered). A failed gate is an
   * outcome (ok false); a throw is infrastructure (or `signal` aborted) and stops the benchmark.
   */
  measure(cell: Cell, seconds: number, signal?: AbortSignal): Promise<RunOutcome>;
  /** Tear everything down (guest shut down, namespaces removed); returns problems in words. */
  close(): Promise<string[]>;
}

/**
 * One netperf run as measured by a session, after its quality gates: the measured fields of a
 * BenchSample (the scheduler adds cell, variant, round, run and slot).
 */
export type RunOutcome = Pick<BenchSample, "startedAt" | "endedAt" | "values" | "throughput" | "ok" | "problem"> & {
  /** What the session repaired on the way, in words, for the report (e.g. a netserver restarted). */
  notes?: string[];
  /**
   * Set when the side's kernel died during this run and was booted again: the run failed (ok
   * false), and the side's other runs of the same pair (cell pairing) or round (side pairing)
   * come from the dead boot — the scheduler sets them aside and measures them again.
   */
  rebooted?: string;
};
