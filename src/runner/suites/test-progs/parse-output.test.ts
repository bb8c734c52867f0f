import assert from "node:assert/strict";
import { test } from "node:test";
import { readFixture } from "../../../../test/helpers/fixtures.ts";
import { stripMailQuotes } from "../strip-mail-quotes.ts";
import { parseTestProgsJson, parseTestProgsOutput } from "./parse-output.ts";

const CI_RUN = "test_progs.stdout.two-failures.DERIVED-timestamps-stripped.txt";
const ciText = (): string => readFixture("selftests", "test_progs", CI_RUN).toString("utf8");

test("BPF CI run: every top-level test once, summary parsed, no problems", () => {
  const out = parseTestProgsOutput(ciText());
  assert.deepEqual(out.summary, { passed: 534, subtestsPassed: 3894, skipped: 67, failed: 1 });
  assert.deepEqual(out.problems, []);
  assert.equal(out.tests.length, 535);
  assert.equal(new Set(out.tests.map((t) => t.number)).size, 535, "All error logs must not duplicate tests");
  assert.deepEqual(
    out.tests.filter((t) => t.status === "fail").map((t) => t.name),
    ["cgrp_local_storage"],
  );
});

test("BPF CI run: statuses, subtests and the partial-skip annotation", () => {
  const out = parseTestProgsOutput(ciText());
  const byName = new Map(out.tests.map((t) => [t.name, t]));
  const align = byName.get("align");
  assert.equal(align?.number, 2);
  assert.equal(align?.status, "pass");
  assert.equal(align?.subtests.length, 12);
  assert.deepEqual(align?.subtests[4], { number: 5, name: "unknown shift", status: "pass", subtests: [] });
  assert.equal(byName.get("arena_atomics")?.status, "skip");
  const htab = byName.get("arena_htab");
  assert.equal(htab?.status, "pass");
  assert.equal(htab?.reason, "1 of 2 subtests skipped");
  assert.deepEqual(
    htab?.subtests.map((s) => [s.name, s.status]),
    [
      ["arena_htab_llvm", "skip"],
      ["arena_htab_asm", "pass"],
    ],
  );
  // The framework self-test prints a FAIL subtest under an OK parent: the
  // parent's own line decides, subtests are not combined upwards.
  const fw = byName.get("prog_tests_framework");
  assert.equal(fw?.status, "pass");
  assert.equal(fw?.subtests.find((s) => s.number === 4)?.status, "fail");
});

test("BPF CI run: the failing test and subtest carry the log from All error logs", () => {
  const out = parseTestProgsOutput(ciText());
  const t = out.tests.find((x) => x.number === 53);
  assert.ok(t);
  assert.equal(t.subtests.length, 13);
  const sub = t.subtests.find((s) => s.number === 2);
  assert.equal(sub?.status, "fail");
  assert.match(sub?.log ?? "", /test_attach_cgroup:FAIL:map_lookup\(socket_cookies\) unexpected error: -2/);
  assert.match(t.log ?? "", /^cgrp2_local_storage:PASS:join_cgroup/);
  assert.equal(out.tests.find((x) => x.name === "align")?.log, undefined, "passing tests carry no log");
});

test("log excerpts keep the last lines and say how many were dropped", () => {
  const out = parseTestProgsOutput(ciText(), { maxLogLines: 2 });
  const sub = out.tests.find((x) => x.number === 53)?.subtests.find((s) => s.number === 2);
  assert.equal(
    sub?.log,
    "[... 6 earlier lines omitted]\ntest_attach_cgroup:PASS:connect_to_fd 0 nsec\n" +
      "test_attach_cgroup:FAIL:map_lookup(socket_cookies) unexpected error: -2 (errno 2)",
  );
});

test("output cut before the Summary line is a problem, not a pass", () => {
  const text = ciText();
  const cut = text.slice(0, text.indexOf("#300 "));
  const out = parseTestProgsOutput(cut);
  assert.equal(out.summary, null);
  assert.ok(out.problems.some((p) => /no Summary line/.test(p)));
  assert.ok(out.tests.length > 250 && out.tests.length < 300);
});

test("subtests without their test's result line (crash mid-test) become an error test", () => {
  const out = parseTestProgsOutput("#7/1    assign_reuse/tcpv4:OK\n#7/2    assign_reuse/tcpv6:FAIL\n");
  assert.equal(out.tests.length, 1);
  assert.equal(out.tests[0]?.name, "assign_reuse");
  assert.equal(out.tests[0]?.status, "error");
  assert.equal(out.tests[0]?.subtests.length, 2);
  assert.ok(out.problems.some((p) => /no result line for the test/.test(p)));
});

test("a Summary that disagrees with the printed results is a problem", () => {
  const out = parseTestProgsOutput("#1       a:OK\n#2       b:OK\nSummary: 1/0 PASSED, 0 SKIPPED, 1 FAILED\n");
  assert.deepEqual(out.problems, [
    "Summary says 1 FAILED but 0 failing tests were printed",
    "Summary says 1 PASSED but 2 passing or skipped tests were printed",
  ]);
});

test("no test matched: Summary 0/0 with no tests and no problems", () => {
  const out = parseTestProgsOutput("Summary: 0/0 PASSED, 0 SKIPPED, 0 FAILED\n");
  assert.deepEqual(out, { tests: [], summary: { passed: 0, subtestsPassed: 0, skipped: 0, failed: 0 }, problems: [] });
});

test("watchdog kill lines are problems", () => {
  const out = parseTestProgsOutput(
    "WATCHDOG: test case tcp_splice executes for 120 seconds, terminating with SIGSEGV\n#9       tcp_splice:FAIL\n",
  );
  assert.ok(out.problems.includes("watchdog killed tcp_splice after 120 s"));
});

test("mail: quoted 4 levels deep (test_bpffs)", () => {
  const text = stripMailQuotes(readFixture("selftests", "test_progs", "mail-pasted.quoted-in-reply.test_bpffs.txt").toString());
  const out = parseTestProgsOutput(text);
  assert.deepEqual(out.tests, [{ number: 282, name: "test_bpffs", status: "pass", subtests: [] }]);
  assert.deepEqual(out.summary, { passed: 1, subtestsPassed: 0, skipped: 0, failed: 0 });
  assert.deepEqual(out.problems, []);
});

test("mail: result pasted without the leading # (cgroup_storage)", () => {
  const text = readFixture("selftests", "test_progs", "mail-pasted.below-triple-dash.cgroup_storage.txt").toString();
  const out = parseTestProgsOutput(text);
  assert.deepEqual(out.tests, [{ number: 53, name: "cgroup_storage", status: "pass", subtests: [] }]);
  assert.deepEqual(out.problems, []);
});

// No real -J file exists in any corpus; this follows the writer in
// test_progs.c (calculate_summary_and_print_errors / dump_test_log), compact form.
const JSON_TWO_FAILURES = JSON.stringify({
  success: 534,
  success_subtest: 3894,
  skipped: 67,
  failed: 1,
  results: [
    {
      name: "cgrp_local_storage",
      number: 53,
      message: "cgrp2_local_storage:PASS:join_cgroup /cgrp_local_storage 0 nsec\n",
      failed: true,
      subtests: [
        {
          name: "attach_cgroup",
          number: 2,
          message: "test_attach_cgroup:FAIL:map_lookup(socket_cookies) unexpected error: -2 (errno 2)\n",
          failed: true,
        },
      ],
    },
  ],
});

test("-J JSON: counts and failed results", () => {
  const out = parseTestProgsJson(JSON_TWO_FAILURES);
  assert.deepEqual(out.summary, { passed: 534, subtestsPassed: 3894, skipped: 67, failed: 1 });
  assert.deepEqual(out.problems, []);
  assert.equal(out.tests.length, 1);
  assert.equal(out.tests[0]?.status, "fail");
  assert.equal(out.tests[0]?.log, "cgrp2_local_storage:PASS:join_cgroup /cgrp_local_storage 0 nsec");
  assert.equal(out.tests[0]?.subtests[0]?.name, "attach_cgroup");
  assert.equal(out.tests[0]?.subtests[0]?.status, "fail");
});

test("-J JSON: pretty-printed and empty results parse the same way", () => {
  const out = parseTestProgsJson(
    JSON.stringify({ success: 3, success_subtest: 5, skipped: 0, failed: 0, results: [] }, null, 4),
  );
  assert.deepEqual(out, { tests: [], summary: { passed: 3, subtestsPassed: 5, skipped: 0, failed: 0 }, problems: [] });
});

test("-J JSON: truncated file, wrong shape and inconsistent counts are problems", () => {
  const cut = parseTestProgsJson(JSON_TWO_FAILURES.slice(0, 60));
  assert.equal(cut.summary, null);
  assert.match(cut.problems[0] ?? "", /not JSON/);
  const shape = parseTestProgsJson(JSON.stringify({ success: 1, failed: 0, results: [] }));
  assert.equal(shape.summary, null);
  assert.match(shape.problems[0] ?? "", /success_subtest/);
  const counts = parseTestProgsJson(JSON.stringify({ success: 1, success_subtest: 0, skipped: 0, failed: 2, results: [] }));
  assert.deepEqual(counts.problems, ['"failed" is 2 but 0 failed results are listed']);
});

test("the log of a failed test comes from All error logs when the run itself printed none", () => {
  const out = parseTestProgsOutput(
    [
      "#5/1     foo/a:OK",
      "#5/2     foo/b:FAIL",
      "#5       foo:FAIL",
      "#6       bar:OK",
      "",
      "All error logs:",
      "run_b:FAIL:connect unexpected error: -111",
      "#5/2     foo/b:FAIL",
      "#5       foo:FAIL",
      "Summary: 1/1 PASSED, 0 SKIPPED, 1 FAILED",
    ].join("\n"),
  );
  assert.deepEqual(out.problems, []);
  assert.equal(out.tests.length, 2);
  const foo = out.tests[0];
  assert.equal(foo?.subtests.length, 2);
  assert.equal(foo?.subtests[1]?.log, "run_b:FAIL:connect unexpected error: -111");
  assert.equal(foo?.log, "run_b:FAIL:connect unexpected error: -111\n#5/2     foo/b:FAIL");
});
