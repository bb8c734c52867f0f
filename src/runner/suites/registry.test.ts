import assert from "node:assert/strict";
import { test } from "node:test";
import { readFixture } from "../../../test/helpers/fixtures.ts";
import { SUITES, soBusyPollSuite, type SuiteTarget, tcpSpliceSuite } from "./registry.ts";

const series = (title: string, subjects: string[]): SuiteTarget["series"] => ({
  title,
  patches: subjects.map((subject, i) => ({ index: i + 1, messageId: `m${i}`, subject, author: "A <a@b>" })),
});

test("registry lists both suites by id", () => {
  assert.deepEqual([...SUITES.keys()], ["tcp_splice", "so_busy_poll"]);
});

test("command: argv arrays with the documented filters", () => {
  assert.deepEqual(tcpSpliceSuite.command({ testProgs: "./test_progs" }), ["./test_progs", "-t", "tcp_splice"]);
  assert.deepEqual(soBusyPollSuite.command({ testProgs: "/sb/test_progs", jsonOutput: "/tmp/r.json" }), [
    "/sb/test_progs",
    "-t",
    "tcp_splice/busy_poll",
    "-J",
    "/tmp/r.json",
  ]);
});

test("appliesTo: bpf/net trees and series that touch the area; baseline runs always", () => {
  const seed = series("tcp: opportunistic loopback splice for BPF-paired sockets", [
    "tcp_bpf: add bpf_sock_splice_pair kfunc for opportunistic loopback splice",
    "bpf: allow SO_BUSY_POLL in bpf_setsockopt()",
  ]);
  assert.equal(tcpSpliceSuite.appliesTo({ tree: "bpf-next", series: seed }), true);
  assert.equal(soBusyPollSuite.appliesTo({ tree: "bpf-next", series: seed }), true);
  assert.equal(tcpSpliceSuite.appliesTo({ tree: "bpf-next", series: null }), true);
  assert.equal(tcpSpliceSuite.appliesTo({ tree: "mm", series: seed }), false);
  const other = series("bpf: Specify access type of bpf_sysctl_get_name args", ["bpf: Specify access type"]);
  assert.equal(tcpSpliceSuite.appliesTo({ tree: "bpf", series: other }), false);
  assert.equal(soBusyPollSuite.appliesTo({ tree: "bpf", series: other }), false);
});

test("skipReason: says which condition kept a suite from running", () => {
  const other = series("bpf: Specify access type of bpf_sysctl_get_name args", ["bpf: Specify access type"]);
  assert.equal(tcpSpliceSuite.skipReason({ tree: "mm", series: other }), "tree mm is not one of bpf, bpf-next, net, net-next");
  assert.equal(
    soBusyPollSuite.skipReason({ tree: "bpf", series: other }),
    "the series' title and patch subjects mention none of busy_poll, bpf_setsockopt",
  );
});

test("parse + classify: the mail-pasted single-test run is a pass for its own filter", () => {
  const text = readFixture("selftests", "test_progs", "mail-pasted.below-triple-dash.cgroup_storage.txt").toString();
  const parsed = tcpSpliceSuite.parse(text);
  assert.equal(parsed.tests[0]?.name, "cgroup_storage");
  const outcome = tcpSpliceSuite.classify({ spawnError: null, exitCode: 0, signal: null, output: parsed });
  assert.equal(outcome.status, "pass");
});

test("classify through the registry: absent test is skip, ENOENT is error", () => {
  const absent = soBusyPollSuite.parse("Summary: 0/0 PASSED, 0 SKIPPED, 0 FAILED\n");
  assert.deepEqual(
    [soBusyPollSuite.classify({ spawnError: null, exitCode: 2, signal: null, output: absent }).status],
    ["skip"],
  );
  const enoent = tcpSpliceSuite.classify({
    spawnError: { code: "ENOENT", message: "spawn test_progs ENOENT" },
    exitCode: null,
    signal: null,
    output: null,
  });
  assert.equal(enoent.status, "error");
});
