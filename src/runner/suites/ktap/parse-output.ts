import type { Status } from "../../../domain/status.ts";
import type { ParsedSuiteOutput, ParsedTest } from "../parsed-suite-output.ts";

/** Counts from the last top-level `# Totals: pass:N fail:N ...` line (kselftest / KUnit). */
export type KtapTotals = Partial<Record<"pass" | "fail" | "skip" | "xfail" | "xpass" | "error" | "total", number>>;

export interface KtapSummary {
  /** `KTAP version 1`, `TAP version 13`, ... of the (first) top-level document. */
  version: string | null;
  /** N of the top-level `1..N` plan line. */
  plan: number | null;
  /** Reason given on a `Bail out!` line. */
  bailOut: string | null;
  totals: KtapTotals | null;
}

export type KtapOutput = ParsedSuiteOutput<KtapSummary>;

export type KtapDirective = "SKIP" | "TODO" | "XFAIL" | "XPASS" | "TIMEOUT" | "ERROR";

/**
 * KTAP result → Status (Documentation/dev-tools/ktap.rst, kselftest.h):
 * - `SKIP` (with ok or not ok) → skip.
 * - `TODO`: `not ok # TODO` is a known, expected failure the series did not
 *   cause → warn (visible, not blamed); `ok # TODO` → pass.
 * - `XFAIL` (failed as expected) → pass; `XPASS` (passed although expected
 *   to fail) → warn: surprising, but not a breakage.
 * - `TIMEOUT` → fail (the code under test hung); `ERROR` → error (the spec
 *   defines it as a failure of the test infrastructure, not the code).
 */
export function ktapStatus(ok: boolean, directive: KtapDirective | null): Status {
  switch (directive) {
    case "SKIP":
      return "skip";
    case "TODO":
      return ok ? "pass" : "warn";
    case "XFAIL":
      return "pass";
    case "XPASS":
      return "warn";
    case "TIMEOUT":
      return "fail";
    case "ERROR":
      return "error";
    default:
      return ok ? "pass" : "fail";
  }
}

const DMESG_PREFIX_RE = /^\s*\[\s*\d+\.\d+\] ?/;
const VERSION_RE = /^((?:K?TAP) version \d+)$/;
const PLAN_RE = /^1\.\.(\d+)(?:\s+#.*)?$/;
const RESULT_RE = /^(ok|not ok) (\d+)(?:\s+(.*))?$/;
const DIRECTIVE_RE = /^(.*?)\s*#\s*(SKIP|TODO|XFAIL|XPASS|TIMEOUT|ERROR)\b:?\s*(.*)$/i;
const BAIL_RE = /^Bail out!\s*(.*)$/;
const SUBTEST_RE = /^# Subtest: (.*)$/;
const TOTALS_RE = /^# Totals: (.*)$/;

interface Level {
  indent: number;
  version: string | null;
  plan: number | null;
  name: string | null;
  results: ParsedTest[];
  log: string[];
  /** A nested test whose lines ended and that waits for its own result line. */
  child: Level | null;
  totals: KtapTotals | null;
}

function newLevel(indent: number): Level {
  return { indent, version: null, plan: null, name: null, results: [], log: [], child: null, totals: null };
}

/**
 * Parse KTAP (KUnit) and kselftest TAP output. Nesting follows indentation;
 * lines the format does not know (program output, kernel log lines with a
 * `[   12.345]` prefix) never change a result but are kept as the log of the
 * next failing result. A kernel-log prefix in front of a KTAP line (KUnit
 * read from dmesg) is removed first. Missing results (plan vs results), an
 * absent plan or version line, a `Bail out!`, result lines whose parent never
 * printed its own result, and `# Totals:` that disagree with the results are
 * reported in `problems`.
 */
export function parseKtapOutput(text: string): KtapOutput {
  const problems: string[] = [];
  const tests: ParsedTest[] = [];
  const stack: Level[] = [];
  let summary: KtapSummary = { version: null, plan: null, bailOut: null, totals: null };
  let documents = 0;
  let preamble: string[] = [];

  const finishDocument = (): void => {
    while (stack.length > 1) closeInto(stack, problems);
    const root = stack.pop();
    if (!root) return;
    const results = finalize(root, "top level", problems);
    if (documents === 0) summary = { ...summary, version: root.version, plan: root.plan, totals: root.totals };
    documents++;
    if (root.version === null) problems.push("no KTAP/TAP version line: output starts mid-stream?");
    if (root.plan === null) problems.push("no top-level plan line (1..N): missing results cannot be detected");
    tests.push(...results);
  };

  /** Make the innermost level the one at `indent`, opening or closing levels. */
  const enter = (indent: number): Level => {
    let top = stack.at(-1);
    if (!top) {
      top = newLevel(indent);
      top.log = preamble;
      preamble = [];
      stack.push(top);
      return top;
    }
    while (indent < top.indent) {
      const closed = stack.pop() as Level;
      let parent = stack.at(-1);
      if (!parent) {
        // Output began inside a nested test (e.g. one KUnit suite pasted on its own).
        parent = newLevel(indent);
        parent.version = closed.version;
        stack.push(parent);
      }
      adoptChild(parent, closed, problems);
      top = parent;
    }
    if (indent > top.indent) {
      const child = newLevel(indent);
      stack.push(child);
      return child;
    }
    return top;
  };

  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\s+$/, "").replace(DMESG_PREFIX_RE, "");
    const content = line.trimStart();
    const indent = line.length - content.length;
    if (content === "") continue;

    const version = VERSION_RE.exec(content);
    if (version) {
      const top = stack.at(-1);
      if (top && stack.length === 1 && indent <= top.indent && (top.results.length > 0 || top.plan !== null)) {
        problems.push(`a second top-level "${version[1]}" line: several runs concatenated (or a run restarted)`);
        finishDocument();
      }
      const level = enter(indent);
      if (level.version === null) level.version = version[1] ?? null;
      continue;
    }

    const subtest = SUBTEST_RE.exec(content);
    if (subtest) {
      const level = enter(indent);
      level.name = subtest[1]?.trim() ?? null;
      continue;
    }

    const plan = PLAN_RE.exec(content);
    if (plan) {
      const level = enter(indent);
      if (level.plan !== null) problems.push(`second plan line "${content}" at the same level`);
      level.plan = Number(plan[1]);
      continue;
    }

    const result = RESULT_RE.exec(content);
    if (result) {
      const level = enter(indent);
      const test = parseResult(result[1] === "ok", Number(result[2]), result[3] ?? "");
      const child = level.child;
      if (child) {
        level.child = null;
        test.subtests = finalize(child, `subtests of "${test.name}"`, problems);
      }
      if ((test.status === "fail" || test.status === "error") && level.log.length > 0) test.log = level.log.join("\n");
      level.log = [];
      level.results.push(test);
      continue;
    }

    const bail = BAIL_RE.exec(content);
    if (bail) {
      summary = { ...summary, bailOut: bail[1] ?? "" };
      problems.push(`Bail out! ${bail[1] ?? ""}`.trimEnd());
      continue;
    }

    const totals = TOTALS_RE.exec(content);
    if (totals) {
      const level = [...stack].reverse().find((l) => l.indent === indent) ?? stack.at(-1);
      if (level) level.totals = parseTotals(totals[1] ?? "");
      continue;
    }

    // Diagnostic (`# ...`) or unknown line: log context for the next result.
    const top = stack.at(-1);
    if (top) top.log.push(content);
    else preamble.push(content);
  }
  finishDocument();
  if (documents === 0) {
    problems.push("no KTAP/TAP output found");
  }
  return { tests, summary: documents === 0 ? null : summary, problems };
}

function parseResult(ok: boolean, number: number, rest: string): ParsedTest {
  let description = rest.replace(/^-\s+/, "");
  let directive: KtapDirective | null = null;
  let reason: string | null = null;
  const d = DIRECTIVE_RE.exec(description);
  if (d) {
    description = d[1] ?? "";
    directive = (d[2] ?? "").toUpperCase() as KtapDirective;
    reason = (d[3] ?? "").trim();
  } else {
    const hash = description.indexOf(" # ");
    if (hash >= 0) {
      reason = description.slice(hash + 3).trim();
      description = description.slice(0, hash);
    }
  }
  const name = description.trim() || `test ${number}`;
  const test: ParsedTest = { number, name, status: ktapStatus(ok, directive), subtests: [] };
  const because = directive ? [directive, reason].filter(Boolean).join(" ") : reason;
  if (because) test.reason = because;
  return test;
}

function parseTotals(text: string): KtapTotals {
  const totals: KtapTotals = {};
  for (const m of text.matchAll(/(pass|fail|skip|xfail|xpass|error|total):(\d+)/g)) {
    totals[m[1] as keyof KtapTotals] = Number(m[2]);
  }
  return totals;
}

/** A nested level closed (dedent) before its parent's result line. */
function adoptChild(parent: Level, closed: Level, problems: string[]): void {
  if (parent.child) orphan(parent, parent.child, problems);
  parent.child = closed;
}

/** A nested test whose parent never printed a result line for it. */
function orphan(parent: Level, child: Level, problems: string[]): void {
  const name = child.name ?? `nested test after #${parent.results.length}`;
  problems.push(`"${name}": nested results without a result line of their own (output cut short?)`);
  parent.results.push({
    number: (parent.results.at(-1)?.number ?? 0) + 1,
    name,
    status: "error",
    subtests: finalize(child, `subtests of "${name}"`, problems),
    reason: "no result line: output ended inside this test",
  });
}

function closeInto(stack: Level[], problems: string[]): void {
  const closed = stack.pop() as Level;
  const parent = stack.at(-1) as Level;
  if (parent.child) orphan(parent, parent.child, problems);
  orphan(parent, closed, problems);
}

function finalize(level: Level, where: string, problems: string[]): ParsedTest[] {
  if (level.child) {
    const pending = level.child;
    level.child = null;
    orphan(level, pending, problems);
  }
  const results = level.results;
  if (level.plan !== null && results.length !== level.plan) {
    problems.push(`${where}: plan 1..${level.plan} but ${results.length} results`);
  }
  const first = results[0];
  if (first && first.number !== 1) problems.push(`${where}: results start at ${first.number}, not 1 (output cut?)`);
  for (let i = 1; i < results.length; i++) {
    const prev = results[i - 1] as ParsedTest;
    const cur = results[i] as ParsedTest;
    if (cur.number !== prev.number + 1) problems.push(`${where}: result ${cur.number} follows ${prev.number}`);
  }
  if (level.totals) checkTotals(level.totals, results, where, problems);
  return results;
}

function checkTotals(totals: KtapTotals, results: readonly ParsedTest[], where: string, problems: string[]): void {
  const counted: KtapTotals = {
    pass: results.filter((t) => t.status === "pass" && !/^(XFAIL)\b/.test(t.reason ?? "")).length,
    fail: results.filter((t) => t.status === "fail").length,
    skip: results.filter((t) => t.status === "skip").length,
  };
  for (const key of ["pass", "fail", "skip"] as const) {
    const said = totals[key];
    if (said !== undefined && said !== counted[key]) {
      problems.push(`${where}: "# Totals" says ${key}:${said} but ${counted[key]} such results were printed`);
    }
  }
}
