import type { SuiteTest } from "../../domain/results.ts";
import type { Status } from "../../domain/status.ts";
import type { ParsedTest } from "../suites/parsed-suite-output.ts";
import type { KtapOutput } from "../suites/ktap/parse-output.ts";

/** kselftest's exit code for "skipped" (tools/testing/selftests/kselftest.h KSFT_SKIP). */
const KSFT_SKIP = 4;

/** One kselftest program's run inside one kernel, judged on its own. */
export interface KselftestRun {
  /** The program exists (and is executable) in that side's tree. */
  present: boolean;
  status: Status;
  /** "2 of 3 passed; failed: x", "exit 1 without KTAP output", "timed out after 300 s". */
  detail: string;
  /** Names of the failing results (top level, with failing subtests as parent/child). */
  failed: string[];
}

/** Names of the failing results (top level, or parent/child for failing subtests). */
export function failing(tests: readonly ParsedTest[], prefix = ""): string[] {
  return tests.flatMap((t) => {
    const name = `${prefix}${t.name}`;
    const sub = failing(t.subtests, `${name}/`);
    return t.status === "fail" ? (sub.length > 0 ? sub : [name]) : sub;
  });
}

/**
 * Pure: one run's status from its exit and its KTAP output. KTAP results decide when there are
 * any (a non-zero exit beside all-passing results is still a failure); without KTAP the exit code
 * does: 0 pass, 4 skip (KSFT_SKIP), anything else fail.
 */
export function judgeKselftestRun(r: { code: number | null; signal: string | null; timedOut: boolean; timeoutSec: number; ktap: KtapOutput }): KselftestRun {
  const tests = r.ktap.tests;
  const failed = failing(tests);
  const exit = r.code !== null ? `exit ${r.code}` : `killed by ${r.signal ?? "a signal"}`;
  if (r.timedOut) return { present: true, status: "fail", detail: `timed out after ${r.timeoutSec} s${failed.length ? `; failed: ${failed.join(", ")}` : ""}`, failed };
  if (tests.length === 0) {
    if (r.code === 0) return { present: true, status: "pass", detail: "exit 0 (no KTAP results)", failed };
    if (r.code === KSFT_SKIP) return { present: true, status: "skip", detail: "exit 4 (skipped)", failed };
    return { present: true, status: "fail", detail: `${exit} without KTAP results`, failed };
  }
  const n = (s: Status) => tests.filter((t) => t.status === s).length;
  const counts = `${n("pass")} of ${tests.length} passed${n("skip") ? `, ${n("skip")} skipped` : ""}`;
  if (failed.length > 0) return { present: true, status: "fail", detail: `${counts}; failed: ${failed.join(", ")}`, failed };
  if (r.code !== 0 && r.code !== KSFT_SKIP) return { present: true, status: "fail", detail: `${counts}, but ${exit}`, failed };
  if (r.ktap.problems.length > 0) return { present: true, status: "warn", detail: `${counts}; output: ${r.ktap.problems[0]}`, failed };
  if (n("skip") === tests.length) return { present: true, status: "skip", detail: counts, failed };
  return { present: true, status: "pass", detail: counts, failed };
}

export const NOT_PRESENT: KselftestRun = { present: false, status: "skip", detail: "not in this tree", failed: [] };

/**
 * Pure: a kselftest's verdict from its run in the base and in the candidate kernel (each with
 * its own tree's version of the test). `base` is null when the base kernel could not run it.
 *   fails with the series, passes on the base → fail (the series' fault)
 *   fails in both → warn (pre-existing), unless the candidate fails more
 *   new in this series (absent from the base tree) → the candidate's own result
 */
export function classifyKselftest(path: string, base: KselftestRun | null, cand: KselftestRun, durationMs: number): SuiteTest {
  const t = (status: Status, detail: string): SuiteTest => ({ suite: "kselftest", name: path, status, detail, durationMs });
  const word = (s: Status) => (s === "pass" ? "passes" : s === "fail" ? "fails" : s === "skip" ? "skipped" : s === "warn" ? "passes with warnings" : "could not run");
  if (!cand.present) return t("skip", base?.present ? "removed by this series" : "not in the base or the candidate tree");
  if (base !== null && !base.present) return t(cand.status, `new in this series: ${word(cand.status)} (${cand.detail})`);
  if (base === null) return t(cand.status, `candidate: ${word(cand.status)} (${cand.detail}); not compared: the base kernel could not run it`);
  if (cand.status === "error" || base.status === "error") {
    return t("error", `could not run: candidate ${cand.detail}; base ${base.detail}`);
  }
  if (cand.status === "fail" && base.status === "fail") {
    const extra = cand.failed.filter((f) => !base.failed.includes(f));
    if (extra.length > 0) return t("fail", `fails more with the series: ${extra.join(", ")} (base fails too: ${base.detail})`);
    return t("warn", `fails on the base too (not this series' fault): ${cand.detail}`);
  }
  if (cand.status === "fail") return t("fail", `fails with the series, passes on the base: ${cand.detail}`);
  if (base.status === "fail") return t("pass", `fixed by this series (the base fails: ${base.detail})`);
  if (cand.status === "skip") return t("skip", `skipped in the candidate (${cand.detail}); base: ${word(base.status)}`);
  return t(cand.status, `${word(cand.status)} on base and candidate (${cand.detail})`);
}
