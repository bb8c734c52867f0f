import type { Status } from "../../domain/status.ts";

/**
 * One test (or subtest) as a selftest runner reported it. Shared by the
 * test_progs and KTAP parsers so a suite result reads the same whatever
 * runner produced it.
 */
export interface ParsedTest {
  /** The runner's own number (test_progs `#N`, KTAP `ok N`). */
  number: number;
  name: string;
  status: Status;
  subtests: ParsedTest[];
  /** Why it was skipped / the directive text (`# SKIP reason`, `OK (SKIP: 1/2)`). */
  reason?: string;
  /** Log excerpt of a failing test, as printed before its result line. */
  log?: string;
  durationMs?: number;
}

/**
 * What a parser made of one run's output. `problems` lists everything that
 * makes the output untrustworthy (truncation, plan/summary mismatches); a
 * run with problems must never be reported as a plain pass.
 */
export interface ParsedSuiteOutput<S> {
  tests: ParsedTest[];
  summary: S | null;
  problems: string[];
}
