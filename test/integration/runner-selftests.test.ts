import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { stageJobSchema } from "../../src/queue/payloads.ts";
import { runSelftestsStage } from "../../src/runner/run-selftests-stage.ts";
import { fixturePath } from "../helpers/fixtures.ts";

/**
 * The selftests stage on this runner: real host probes (TCP, user-space and
 * BPF SO_BUSY_POLL on the stock kernel), and the registry's test_progs
 * suites. No test_progs is built on this machine, so one case runs a
 * stand-in executable that records its argv and prints a real test_progs
 * log (fixtures/selftests) — it checks the wiring (filter argv, parser,
 * classification), not the kernel.
 */
describe("selftests stage (host probes, test_progs suites)", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "pb-st-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const job = (suites: string[], subjects: string[], testProgs: string | null) =>
    stageJobSchema.parse({
      flowId: "f",
      seriesId: "s",
      stage: "selftests",
      tree: { name: "bpf-next", url: "u", path: null, branch: "master", allowBinary: false, allowSymlinks: false },
      baseCommit: null,
      patches: subjects.map((subject, i) => ({ index: i + 1, subject, rawBase64: "" })),
      suites,
      bench: {},
      build: { testProgs },
    });

  test("host probes: SO_BUSY_POLL works from user space, bpf_setsockopt says unsupported on this kernel (skip, not fail)", async () => {
    const r = await runSelftestsStage(job(["host-probes"], ["bpf: x"], null), { runner: "t", cacheDir: join(dir, "cache") });
    const by = new Map(r.data.tests.map((t) => [t.name, t]));
    assert.equal(by.get("tcp-loopback-round-trip")?.status, "pass");
    assert.equal(by.get("so-busy-poll-setsockopt")?.status, "pass");
    assert.equal(by.get("bpf-setsockopt-so-busy-poll")?.status, "skip");
    assert.match(by.get("bpf-setsockopt-so-busy-poll")?.detail ?? "", /unsupported on this kernel/);
    assert.equal(r.status, "pass");
  });

  test("a missing test_progs is an error that says so; a series that does not touch the area skips the suite", async () => {
    const r = await runSelftestsStage(job(["tcp_splice", "so_busy_poll"], ["bpf: tcp_splice: add splice to sockmap"], join(dir, "nope", "test_progs")), { runner: "t" });
    const splice = r.data.tests.find((t) => t.suite === "tcp_splice");
    assert.equal(splice?.status, "error");
    assert.match(splice?.detail ?? "", /test_progs binary not found/);
    assert.equal(r.data.tests.find((t) => t.suite === "so_busy_poll")?.status, "skip");
    assert.match(r.data.tests.find((t) => t.suite === "so_busy_poll")?.detail ?? "", /mention none of busy_poll/);
    const unset = await runSelftestsStage(job(["tcp_splice"], ["bpf: tcp_splice"], null), { runner: "t" });
    assert.deepEqual(unset.data.tests.map((t) => [t.status, t.detail]), [["skip", "test_progs is not installed on this runner (set build.testProgs)"]]);
  });

  test("test_progs is run with the suite's filter and its real output is classified", async () => {
    const stand = join(dir, "test_progs");
    writeFileSync(stand, `#!/bin/sh\necho "$@" > ${dir}/argv\ncat ${fixturePath("selftests", "test_progs", "test_progs.stdout.two-failures.DERIVED-timestamps-stripped.txt")}\nexit 1\n`);
    chmodSync(stand, 0o755);
    const r = await runSelftestsStage(job(["so_busy_poll"], ["bpf: allow SO_BUSY_POLL in bpf_setsockopt"], stand), { runner: "t" });
    assert.equal(readFileSync(join(dir, "argv"), "utf8").trim(), "-t tcp_splice/busy_poll");
    assert.equal(r.status, "fail");
    assert.match(r.data.tests[0]?.detail ?? "", /cgrp_local_storage\/attach_cgroup/);
  });
});
