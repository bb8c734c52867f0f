import type { Status } from "../../../domain/status.ts";
import type { ParsedTest } from "../parsed-suite-output.ts";
import type { TestProgsOutput } from "./parse-output.ts";

/** What one test_progs invocation left behind, as the runner saw it. */
export interface TestProgsRun {
  /** Set when the process could not be started (spawn error). */
  spawnError: { code: string; message: string } | null;
  exitCode: number | null;
  signal: string | null;
  /** Parsed stdout; null when nothing was captured. */
  output: TestProgsOutput | null;
}

/** What the suite asked test_progs for (used to name what is missing). */
export interface TestProgsSelection {
  test: string;
  /** Substring of the subtest name the filter selects, if any. */
  subtest?: string;
}

export interface SuiteOutcome {
  status: Status;
  /** One line for humans. */
  reason: string;
  tests: ParsedTest[];
  problems: string[];
}

// tools/testing/selftests/bpf/test_progs.c: EXIT_NO_TEST 2, EXIT_ERR_SETUP_INFRA 3.
const EXIT_NO_TEST = 2;
const EXIT_ERR_SETUP_INFRA = 3;

/**
 * The one place where a test_progs run becomes a Status. Order matters:
 * infrastructure (cannot start, setup failed) → error; a test that the base
 * tree simply does not have → skip "test not present" (never fail); any
 * failing test or subtest → fail, even if the run crashed afterwards; a run
 * cut short without failures → error; all skipped → skip; parse problems on
 * an otherwise green run → warn; else pass.
 */
export function classifyTestProgsRun(run: TestProgsRun, selection: TestProgsSelection): SuiteOutcome {
  const wanted = selection.subtest === undefined ? selection.test : `${selection.test}/*${selection.subtest}*`;
  const outcome = (status: Status, reason: string): SuiteOutcome => ({
    status,
    reason,
    tests: run.output?.tests ?? [],
    problems: run.output?.problems ?? [],
  });

  if (run.spawnError) {
    const e = run.spawnError;
    if (e.code === "ENOENT") return outcome("error", `test_progs binary not found (ENOENT): ${e.message}`);
    if (e.code === "EACCES") return outcome("error", `test_progs is not executable (EACCES): ${e.message}`);
    return outcome("error", `test_progs could not be started (${e.code}): ${e.message}`);
  }
  if (run.exitCode === EXIT_ERR_SETUP_INFRA) {
    return outcome("error", "test_progs failed to set up its infrastructure (exit status 3)");
  }
  const out = run.output;
  if (!out) return outcome("error", "no output captured from test_progs");

  const failed = failures(out.tests);
  if (out.tests.length === 0 && failed.length === 0) {
    if (out.summary || run.exitCode === EXIT_NO_TEST) {
      return outcome("skip", `test not present: no test matches ${selection.test}`);
    }
  }
  if (failed.length > 0) {
    const shown = failed.slice(0, 5).join(", ");
    const more = failed.length > 5 ? ` and ${failed.length - 5} more` : "";
    return outcome("fail", `failed: ${shown}${more}`);
  }
  if (run.signal) return outcome("error", `test_progs was killed by ${run.signal} before finishing`);
  if (!out.summary) return outcome("error", "test_progs output ended before its Summary line (crash or truncation)");
  if (out.tests.some((t) => t.status === "error")) {
    return outcome("error", "a test printed subtests but no result line (crash or truncation)");
  }
  if (run.exitCode !== 0 && run.exitCode !== null) {
    return outcome("error", `test_progs exited with status ${run.exitCode} but printed no failing test`);
  }
  if (selection.subtest !== undefined && out.tests.every((t) => t.subtests.length === 0)) {
    return outcome("skip", `test not present: no subtest matches ${wanted}`);
  }
  const ran = selection.subtest === undefined ? out.tests : out.tests.flatMap((t) => t.subtests);
  if (ran.every((t) => t.status === "skip")) {
    const why = ran.map((t) => t.reason).find((r) => r !== undefined);
    return outcome("skip", `skipped by test_progs (${wanted})${why ? `: ${why}` : ""}`);
  }
  if (out.problems.length > 0) return outcome("warn", `passed, but the output is inconsistent: ${out.problems.join("; ")}`);
  const subtests = out.tests.reduce((n, t) => n + t.subtests.length, 0);
  return outcome("pass", `${out.tests.length} test(s), ${subtests} subtest(s) passed or skipped (${wanted})`);
}

/** Failing subtests (or the test itself) of tests whose own line says FAIL: the parent decides. */
function failures(tests: readonly ParsedTest[]): string[] {
  const names: string[] = [];
  for (const t of tests) {
    if (t.status !== "fail") continue;
    const subs = t.subtests.filter((s) => s.status === "fail").map((s) => `${t.name}/${s.name}`);
    names.push(...(subs.length > 0 ? subs : [t.name]));
  }
  return names;
}
