import assert from "node:assert/strict";
import { test } from "node:test";
import { readFixture } from "../../../../test/helpers/fixtures.ts";
import type { ParsedTest } from "../parsed-suite-output.ts";
import { stripMailQuotes } from "../strip-mail-quotes.ts";
import { ktapStatus, parseKtapOutput } from "./parse-output.ts";

const ktap = (name: string): string => stripMailQuotes(readFixture("selftests", "ktap", name).toString("utf8"));
const brief = (t: ParsedTest): unknown => [t.number, t.name, t.status, t.subtests.map(brief)];

test("spec example: three levels of nesting, statuses from each result line", () => {
  const out = parseKtapOutput(ktap("ktap-rst.spec-example.txt"));
  assert.deepEqual(out.problems, []);
  assert.deepEqual(out.summary, { version: "KTAP version 1", plan: 1, bailOut: null, totals: null });
  assert.deepEqual(out.tests.map(brief), [
    [
      1,
      "main_test",
      "fail",
      [
        [1, "example_test_1", "pass", [[1, "test_1", "pass", []]]],
        [
          2,
          "example_test_2",
          "pass",
          [
            [1, "test_1", "skip", []],
            [2, "test_2", "pass", []],
          ],
        ],
        [
          3,
          "example_test_3",
          "fail",
          [
            [1, "test_1", "pass", []],
            [2, "test_2", "fail", []],
            [3, "test_3", "skip", []],
          ],
        ],
      ],
    ],
  ]);
  const t3 = out.tests[0]?.subtests[2]?.subtests;
  assert.equal(t3?.[2]?.reason, "SKIP test_3 skipped");
  assert.equal(t3?.[1]?.log, "# test_2: FAIL");
});

test("KUnit suite pasted alone (indented, # Subtest:): four passes, totals agree", () => {
  const out = parseKtapOutput(ktap("kunit.base64.nested-subtest.txt"));
  assert.deepEqual(out.problems, []);
  assert.equal(out.summary?.plan, 4);
  assert.deepEqual(out.summary?.totals, { pass: 4, fail: 0, skip: 0, total: 4 });
  assert.deepEqual(
    out.tests.map((t) => t.name),
    ["base64_performance_tests", "base64_std_encode_tests", "base64_std_decode_tests", "base64_variant_tests"],
  );
});

test("KUnit suite under a top-level result: nested results become subtests", () => {
  const suite = ktap("kunit.base64.nested-subtest.txt");
  const out = parseKtapOutput(`KTAP version 1\n1..1\n${suite}\nok 1 base64\n`);
  assert.deepEqual(out.problems, []);
  assert.equal(out.tests.length, 1);
  assert.equal(out.tests[0]?.name, "base64");
  assert.equal(out.tests[0]?.subtests.length, 4);
});

test("net hw selftest quoted in a reply: SKIP directives with reasons", () => {
  const out = parseKtapOutput(ktap("net-hw-selftest.tso.skip-directives.quoted.txt"));
  assert.deepEqual(out.problems, []);
  assert.equal(out.tests.length, 14);
  assert.equal(out.tests.filter((t) => t.status === "skip").length, 7);
  assert.equal(out.tests.filter((t) => t.status === "pass").length, 7);
  assert.deepEqual(out.tests[0], {
    number: 1,
    name: "tso.ipv4",
    status: "skip",
    subtests: [],
    reason: "SKIP Test requires IPv4 connectivity",
  });
});

test("kselftest harness with dmesg lines interleaved; a truncated second run is a problem", () => {
  const out = parseKtapOutput(ktap("kselftest-harness.pcitest.pass-then-fail.txt"));
  assert.deepEqual(
    out.tests.map((t) => [t.name, t.status]),
    [["pcie_ep_doorbell.DOORBELL_TEST", "pass"]],
  );
  assert.equal(out.summary?.version, "TAP version 13");
  assert.ok(out.problems.some((p) => /second top-level "TAP version 13"/.test(p)));
  assert.ok(out.problems.includes("top level: plan 1..1 but 0 results"));
});

test("dmesg lines alone never change results; only the first run is clean", () => {
  const text = ktap("kselftest-harness.pcitest.pass-then-fail.txt");
  const firstRun = text.slice(0, text.indexOf("Prints on EP side:"));
  assert.deepEqual(parseKtapOutput(firstRun).problems, []);
});

test("KUnit read from dmesg: the timestamp prefix is removed before parsing", () => {
  const out = parseKtapOutput(
    "[    0.500000] KTAP version 1\n[    0.500001] 1..2\n[    0.600000] ok 1 a\n[    0.700000] not ok 2 b\n",
  );
  assert.deepEqual(out.problems, []);
  assert.deepEqual(
    out.tests.map((t) => t.status),
    ["pass", "fail"],
  );
});

test("mm/cow: Bail out!, directive without description, excerpt starting at 45", () => {
  const out = parseKtapOutput(ktap("kselftest.mm-cow.bail-out.txt"));
  assert.equal(out.summary?.bailOut, "1 out of 50 tests failed");
  assert.equal(out.tests.length, 6);
  const t48 = out.tests.find((t) => t.number === 48);
  assert.equal(t48?.status, "fail");
  assert.match(t48?.log ?? "", /with local tmpfile/);
  const t49 = out.tests.find((t) => t.number === 49);
  assert.deepEqual(t49, { number: 49, name: "test 49", status: "skip", subtests: [], reason: "SKIP need more free huge pages" });
  assert.ok(out.problems.includes("Bail out! 1 out of 50 tests failed"));
  assert.ok(out.problems.some((p) => /results start at 45/.test(p)));
  assert.ok(out.problems.some((p) => /no top-level plan/.test(p)));
});

test("hmm failures quoted with >>: failing results carry their harness log", () => {
  const out = parseKtapOutput(ktap("kselftest-harness.hmm.failures.quoted.txt"));
  assert.deepEqual(
    out.tests.map((t) => [t.number, t.status]),
    [
      [21, "fail"],
      [22, "fail"],
    ],
  );
  assert.match(out.tests[1]?.log ?? "", /hmm-tests.c:1809:exclusive_cow:Expected ret \(-16\) == 0 \(0\)/);
  assert.equal(out.summary?.totals?.fail, 25);
  assert.ok(out.problems.some((p) => /Totals" says fail:25 but 2/.test(p)));
});

test("mail-wrapped SKIP line: the continuation does not become a test", () => {
  const out = parseKtapOutput(ktap("kselftest-harness.mm-merge.skip.mail-wrapped-lines.txt"));
  assert.equal(out.tests.length, 1);
  assert.equal(out.tests[0]?.status, "skip");
  assert.equal(out.tests[0]?.reason, "SKIP Failed to read uprobe");
});

test("missing results vs plan and nested tests without a result line", () => {
  const out = parseKtapOutput("KTAP version 1\n1..3\nok 1 a\n  KTAP version 1\n  # Subtest: b\n  1..2\n  ok 1 b1\n");
  assert.deepEqual(
    out.tests.map((t) => [t.name, t.status]),
    [
      ["a", "pass"],
      ["b", "error"],
    ],
  );
  assert.ok(out.problems.includes('subtests of "b": plan 1..2 but 1 results'));
  assert.ok(out.problems.some((p) => /"b": nested results without a result line/.test(p)));
  assert.ok(out.problems.includes("top level: plan 1..3 but 2 results"));
});

test("empty or foreign output is a problem", () => {
  const out = parseKtapOutput("make: *** No rule to make target\n");
  assert.equal(out.summary, null);
  assert.deepEqual(out.problems, ["no KTAP/TAP output found"]);
});

test("directives map to statuses as documented (TODO not ok → warn)", () => {
  const out = parseKtapOutput(
    [
      "TAP version 13",
      "1..6",
      "not ok 1 known # TODO not fixed yet",
      "ok 2 bonus # TODO",
      "not ok 3 hang # TIMEOUT 45 seconds",
      "not ok 4 infra # ERROR no device",
      "ok 5 - dash # XFAIL expected",
      "not ok 6 plain # a diagnostic",
    ].join("\n"),
  );
  assert.deepEqual(out.problems, []);
  assert.deepEqual(
    out.tests.map((t) => [t.name, t.status, t.reason]),
    [
      ["known", "warn", "TODO not fixed yet"],
      ["bonus", "pass", "TODO"],
      ["hang", "fail", "TIMEOUT 45 seconds"],
      ["infra", "error", "ERROR no device"],
      ["dash", "pass", "XFAIL expected"],
      ["plain", "fail", "a diagnostic"],
    ],
  );
  assert.equal(ktapStatus(true, "XPASS"), "warn");
  assert.equal(ktapStatus(false, "SKIP"), "skip");
});
