import { z } from "zod";
import type { Status } from "../../../domain/status.ts";
import type { ParsedSuiteOutput, ParsedTest } from "../parsed-suite-output.ts";

/**
 * The `Summary:` line of test_progs
 * (tools/testing/selftests/bpf/test_progs.c, calculate_summary_and_print_errors):
 * `passed` counts top-level tests without errors, *including* skipped ones;
 * `subtestsPassed` counts subtests that neither failed nor skipped;
 * `skipped` adds skipped subtests and skipped tests; `failed` counts top-level tests.
 */
export interface TestProgsSummary {
  passed: number;
  subtestsPassed: number;
  skipped: number;
  failed: number;
}

export type TestProgsOutput = ParsedSuiteOutput<TestProgsSummary>;

export interface ParseTestProgsOptions {
  /** Keep at most this many trailing lines of a failing test's log (default 200). */
  maxLogLines?: number;
}

// `#%-7d %s:` + OK|FAIL|SKIP|`OK (SKIP: %d/%d)`. The leading `#` is optional
// because people paste results into mails without it.
const TEST_RE = /^\s*#?(\d+)\s+([A-Za-z0-9_.-]+):(OK|FAIL|SKIP)(?: \(SKIP: (\d+)\/(\d+)\))?$/;
// `#%-7s %s/%s:%s` with "N/M"; subtest names may contain spaces and ':'.
const SUBTEST_RE = /^\s*#?(\d+)\/(\d+)\s+([A-Za-z0-9_.-]+)\/(.*):(OK|FAIL|SKIP)$/;
const SUMMARY_RE = /^\s*Summary: (\d+)\/(\d+) PASSED, (\d+) SKIPPED, (\d+) FAILED$/;
const ERROR_LOGS_RE = /^\s*All error logs:$/;
const WATCHDOG_KILL_RE = /WATCHDOG: test case (\S+) executes for (\d+) seconds, terminating/;

const RESULT_STATUS: Record<string, Status> = { OK: "pass", FAIL: "fail", SKIP: "skip" };

/**
 * Parse the text output of `test_progs` (stdout+stderr, dmesg lines may be
 * interleaved). Result lines of the `All error logs:` section do not add
 * tests; they supply the log of each failed test and subtest. A missing
 * `Summary:` line means the run was cut short and is reported as a problem.
 */
export function parseTestProgsOutput(text: string, options: ParseTestProgsOptions = {}): TestProgsOutput {
  const maxLogLines = options.maxLogLines ?? 200;
  const problems: string[] = [];
  const tests: ParsedTest[] = [];
  const byNumber = new Map<number, ParsedTest>();
  const orphanSubtests = new Map<number, ParsedTest[]>();
  let summary: TestProgsSummary | null = null;
  let inErrorLogs = false;
  let sinceResult: string[] = [];
  let sinceTest: string[] = [];

  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\s+$/, "");

    const sm = SUMMARY_RE.exec(line);
    if (sm) {
      if (summary) problems.push("more than one Summary line (several runs concatenated?)");
      summary = {
        passed: Number(sm[1]),
        subtestsPassed: Number(sm[2]),
        skipped: Number(sm[3]),
        failed: Number(sm[4]),
      };
      sinceResult = [];
      sinceTest = [];
      continue;
    }
    if (ERROR_LOGS_RE.test(line)) {
      inErrorLogs = true;
      sinceResult = [];
      sinceTest = [];
      continue;
    }

    const sub = SUBTEST_RE.exec(line);
    if (sub) {
      const testNumber = Number(sub[1]);
      const status = RESULT_STATUS[sub[5] ?? ""] ?? "error";
      const subtest: ParsedTest = { number: Number(sub[2]), name: sub[4] ?? "", status, subtests: [] };
      if (status === "fail") setLog(subtest, sinceResult, maxLogLines);
      if (inErrorLogs) {
        const existing = byNumber.get(testNumber)?.subtests.find((s) => s.number === subtest.number);
        if (existing) {
          if (subtest.log !== undefined) existing.log = subtest.log;
        } else {
          addOrphan(orphanSubtests, testNumber, subtest);
        }
      } else {
        addOrphan(orphanSubtests, testNumber, subtest);
      }
      sinceTest.push(line);
      sinceResult = [];
      continue;
    }

    const tm = TEST_RE.exec(line);
    if (tm) {
      const number = Number(tm[1]);
      const status = RESULT_STATUS[tm[3] ?? ""] ?? "error";
      const existing = byNumber.get(number);
      if (inErrorLogs && existing) {
        if (existing.status !== status) {
          problems.push(`#${number} ${existing.name}: ${existing.status} in the run but ${status} in "All error logs"`);
        }
        if (status === "fail") setLog(existing, sinceTest, maxLogLines);
        mergeOrphans(existing, orphanSubtests.get(number) ?? []);
      } else {
        if (existing) problems.push(`#${number} ${existing.name}: result printed twice`);
        const test: ParsedTest = { number, name: tm[2] ?? "", status, subtests: orphanSubtests.get(number) ?? [] };
        if (tm[4] !== undefined && tm[5] !== undefined) test.reason = `${tm[4]} of ${tm[5]} subtests skipped`;
        if (status === "fail") setLog(test, sinceTest, maxLogLines);
        tests.push(test);
        byNumber.set(number, test);
      }
      orphanSubtests.delete(number);
      sinceResult = [];
      sinceTest = [];
      continue;
    }

    const wd = WATCHDOG_KILL_RE.exec(line);
    if (wd) problems.push(`watchdog killed ${wd[1]} after ${wd[2]} s`);
    if (line.trim() !== "") {
      sinceResult.push(line);
      sinceTest.push(line);
    }
  }

  for (const [number, subtests] of orphanSubtests) {
    const name = subtestParentName(text, number) ?? `#${number}`;
    problems.push(`#${number} ${name}: subtests printed but no result line for the test (output cut short?)`);
    const test: ParsedTest = {
      number,
      name,
      status: "error",
      subtests,
      reason: "no result line for the test (output cut short?)",
    };
    tests.push(test);
  }

  if (!summary) {
    problems.push("no Summary line: output truncated or test_progs crashed");
  } else {
    checkSummary(summary, tests, problems);
  }
  return { tests, summary, problems };
}

function addOrphan(map: Map<number, ParsedTest[]>, testNumber: number, subtest: ParsedTest): void {
  const list = map.get(testNumber);
  if (list) list.push(subtest);
  else map.set(testNumber, [subtest]);
}

function mergeOrphans(test: ParsedTest, subtests: ParsedTest[]): void {
  for (const s of subtests) {
    const existing = test.subtests.find((x) => x.number === s.number);
    if (existing) {
      if (s.log !== undefined) existing.log = s.log;
    } else {
      test.subtests.push(s);
    }
  }
}

function setLog(test: ParsedTest, lines: readonly string[], maxLines: number): void {
  if (lines.length === 0) return;
  if (lines.length <= maxLines) {
    test.log = lines.join("\n");
    return;
  }
  const omitted = lines.length - maxLines;
  test.log = [`[... ${omitted} earlier lines omitted]`, ...lines.slice(omitted)].join("\n");
}

function subtestParentName(text: string, number: number): string | null {
  const m = new RegExp(`#?${number}/\\d+\\s+([A-Za-z0-9_.-]+)/`).exec(text);
  return m?.[1] ?? null;
}

function checkSummary(summary: TestProgsSummary, tests: readonly ParsedTest[], problems: string[]): void {
  const failed = tests.filter((t) => t.status === "fail").length;
  // test_progs counts skipped tests as "PASSED" (succ_cnt is "no error").
  const passed = tests.filter((t) => t.status === "pass" || t.status === "skip").length;
  // No check on subtestsPassed: prog_tests_framework deliberately clears its
  // own counters (clear_test_state), so a real full run prints one more OK
  // subtest than the Summary counts (3895 vs 3894 in the BPF CI fixture).
  if (failed !== summary.failed) problems.push(`Summary says ${summary.failed} FAILED but ${failed} failing tests were printed`);
  if (passed !== summary.passed) problems.push(`Summary says ${summary.passed} PASSED but ${passed} passing or skipped tests were printed`);
}

/**
 * The `-J <file>` JSON summary of test_progs. Written by the same code that
 * prints "All error logs", so `results` only holds failed tests (and, within
 * them, failed subtests); passing tests are only counted. Whitespace varies
 * between kernel versions, so only the JSON structure is relied on.
 */
const JSON_SUBTEST = z.object({
  name: z.string(),
  number: z.number().int().nonnegative(),
  message: z.string(),
  failed: z.boolean(),
});
const JSON_RESULT = JSON_SUBTEST.extend({ subtests: z.array(JSON_SUBTEST) });
const JSON_SUMMARY = z.object({
  success: z.number().int().nonnegative(),
  success_subtest: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  results: z.array(JSON_RESULT),
});

export function parseTestProgsJson(json: string): TestProgsOutput {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (err) {
    return { tests: [], summary: null, problems: [`-J output is not JSON (truncated?): ${(err as Error).message}`] };
  }
  const parsed = JSON_SUMMARY.safeParse(data);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    return { tests: [], summary: null, problems: [`-J output does not have the test_progs shape: ${where}`] };
  }
  const d = parsed.data;
  const problems: string[] = [];
  const tests: ParsedTest[] = d.results.map((r) => {
    const test: ParsedTest = {
      number: r.number,
      name: r.name,
      status: r.failed ? "fail" : "pass",
      subtests: r.subtests.map((s) => {
        const sub: ParsedTest = { number: s.number, name: s.name, status: s.failed ? "fail" : "pass", subtests: [] };
        if (s.message !== "") sub.log = s.message.replace(/\n$/, "");
        return sub;
      }),
    };
    if (r.message !== "") test.log = r.message.replace(/\n$/, "");
    return test;
  });
  const failedListed = tests.filter((t) => t.status === "fail").length;
  if (failedListed !== d.failed) problems.push(`"failed" is ${d.failed} but ${failedListed} failed results are listed`);
  return {
    tests,
    summary: { passed: d.success, subtestsPassed: d.success_subtest, skipped: d.skipped, failed: d.failed },
    problems,
  };
}
