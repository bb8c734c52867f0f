import assert from "node:assert/strict";
import { test } from "node:test";
import { BPF_SELFTESTS_DIR, planSlimTestProgs, selectionOf, seriesProgTests, testProgsSelections, testsDefinedIn } from "./plan-test-progs.ts";

const PT = `${BPF_SELFTESTS_DIR}/prog_tests`;
const P = `${BPF_SELFTESTS_DIR}/progs`;

test("testsDefinedIn: the names tests.h would get, serial ones included, helpers not", () => {
  const src = "static void test_helper(int x) {}\nvoid test_tcp_rtt(void)\n{\n}\nvoid serial_test_xdp_attach(void) {}\nvoid test_no_args()\n{}\n  void test_indented(void) {}\n";
  assert.deepEqual(testsDefinedIn(src), ["tcp_rtt", "xdp_attach", "no_args"]);
});

test("seriesProgTests: added and changed prog_tests files only; deleted, progs and nested files not", () => {
  const z = (mode: string, status: string, path: string) => `:100644 ${mode} 1111111 2222222 ${status}\0${path}\0`;
  const raw = [
    z("100644", "A", `${PT}/pb_smoke.c`),
    z("100644", "M", `${PT}/tcp_rtt.c`),
    z("000000", "D", `${PT}/gone.c`),
    z("100644", "A", `${P}/pb_smoke.c`),
    z("100644", "A", `${PT}/sub/x.c`),
    z("100644", "A", `${PT}/helpers.h`),
  ].join("");
  assert.deepEqual(seriesProgTests(raw), [`${PT}/pb_smoke.c`, `${PT}/tcp_rtt.c`]);
});

test("testProgsSelections: configured, then suites, then the series' own up to the cap, each once", () => {
  const { run, notRun } = testProgsSelections(["tcp_rtt"], ["tcp_splice", "tcp_splice/busy_poll", "tcp_rtt"], ["pb_a", "tcp_splice", "pb_b", "pb_c"], 2);
  assert.deepEqual(
    run.map((s) => [s.filter, s.from]),
    [
      ["tcp_rtt", "config"],
      ["tcp_splice", "suite"],
      ["tcp_splice/busy_poll", "suite"],
      ["pb_a", "series"],
      ["pb_b", "series"],
    ],
  );
  assert.deepEqual(notRun, ["pb_c"]);
  assert.deepEqual(selectionOf("tcp_splice/busy_poll", "suite"), { filter: "tcp_splice/busy_poll", test: "tcp_splice", subtest: "busy_poll", from: "suite" });
});

test("planSlimTestProgs: keeps the wanted tests, the programs they name, their linked and light skeletons", () => {
  const makefile = [
    "LINKED_SKELS := test_static_linked.skel.h linked_funcs.skel.h",
    "test_static_linked.skel.h-deps := test_static_linked1.bpf.o test_static_linked2.bpf.o",
    "linked_funcs.skel.h-deps := linked_funcs1.bpf.o linked_funcs2.bpf.o",
  ].join("\n");
  const progTests = new Map([
    [`${PT}/a.c`, '#include "test_a.skel.h"\n#include "fentry_test.lskel.h"\nvoid test_a(void) { bpf_object__open_file("./test_a_extra.bpf.o", 0); }\n'],
    [`${PT}/static_linked.c`, '#include "test_static_linked.skel.h"\nvoid test_static_linked(void) {}\n'],
    [`${PT}/other.c`, '#include "test_other.skel.h"\nvoid test_other(void) {}\n'],
  ]);
  const sources = [
    `${PT}/a.c`,
    `${PT}/static_linked.c`,
    `${PT}/other.c`,
    `${PT}/unrelated.c`,
    `${P}/test_a.c`,
    `${P}/test_a_extra.c`,
    `${P}/fentry_test.c`,
    `${P}/test_static_linked1.c`,
    `${P}/test_static_linked2.c`,
    `${P}/linked_funcs1.c`,
    `${P}/test_other.c`,
    `${P}/btf_data.c`,
  ];
  const plan = planSlimTestProgs({ wanted: ["a", "static_linked", "missing"], progTests, sources, makefile });
  assert.deepEqual(plan.present.sort(), ["a", "static_linked"]);
  assert.deepEqual(plan.exclude, [`${PT}/other.c`, `${PT}/unrelated.c`, `${P}/linked_funcs1.c`, `${P}/test_other.c`]);
  assert.deepEqual(plan.makeVars, { LSKELS: "fentry_test.c", LSKELS_EXTRA: "", LINKED_SKELS: "test_static_linked.skel.h", TRUNNER_EXTRA_FILES: "" });
});

test("planSlimTestProgs: no wanted test in the tree → nothing present (no build)", () => {
  const plan = planSlimTestProgs({ wanted: ["pb_smoke"], progTests: new Map(), sources: [`${PT}/x.c`], makefile: "" });
  assert.deepEqual(plan.present, []);
});
