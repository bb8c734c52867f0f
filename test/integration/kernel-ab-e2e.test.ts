import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { stringify } from "yaml";
import { PROJECT_ROOT } from "../helpers/fixtures.ts";
import { cloneKernelTestTree } from "../helpers/kernel-test-tree.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { runCli } from "../helpers/run-cli.ts";

/**
 * Kernel A/B end to end: the series in test/data/kernel-ab (made by
 * scripts/make-kernel-ab-series.sh against the pinned linux-source-6.1 tree)
 * go through the real flow — ingest, BullMQ on a real Redis, the runner's
 * apply, a tinyconfig + guest-fragment build of base and candidate (ccache
 * under $PATCHBENCH_CACHE), both kernels booted as QEMU guests afresh each round (TCG
 * here) with this machine's userspace, netperf inside each — and are judged
 * by reading the report. PATCHBENCH_SKIP_KERNEL_E2E=1 skips it.
 * patchbench:measure-alone — its verdicts come from netperf inside the guests.
 */
const SKIP = process.env.PATCHBENCH_SKIP_KERNEL_E2E === "1";
const CACHE = process.env.PATCHBENCH_CACHE ?? "/var/cache/patchbench";
const DATA = join(PROJECT_ROOT, "test", "data", "kernel-ab");
const GIT_ENV = {
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  LC_ALL: "C",
  TZ: "UTC",
  GIT_AUTHOR_NAME: "Ada Hacker",
  GIT_AUTHOR_EMAIL: "ada@example.org",
  GIT_COMMITTER_NAME: "Ada Hacker",
  GIT_COMMITTER_EMAIL: "ada@example.org",
  GIT_AUTHOR_DATE: "2026-12-01T10:00:00Z",
  GIT_COMMITTER_DATE: "2026-12-01T10:00:00Z",
};

/** The ratio and 95% CI of the first TCP_RR 1 B cell line of `topology` ("... (0.391x) [0.178x, 0.856x]"). */
function ratioOf(report: string, topology: string): { ratio: number; lo: number; hi: number } | null {
  const m = new RegExp(`TCP_RR \\(${topology}\\) 1 B \\S+ -> \\S+ tps \\(([\\d.]+)x\\) \\[([\\d.]+)x, ([\\d.]+)x\\]`).exec(report);
  return m ? { ratio: Number(m[1]), lo: Number(m[2]), hi: Number(m[3]) } : null;
}

/** The verdict word of a cell line's continuation ("      regression: -40.1% ..."), the first after the line `after` starts with. */
function verdictOf(report: string, topology: string, after = ""): string | null {
  const lines = report.split("\n");
  const from = after ? lines.findIndex((l) => l.trim().startsWith(after)) : 0;
  if (from < 0) return null;
  const i = lines.findIndex((l, n) => n > from && l.includes(`TCP_RR (${topology}) 1 B `));
  if (i < 0) return null;
  for (const l of lines.slice(i + 1, i + 4)) {
    const m = /^\s+(improvement|regression|no change|noisy|inconclusive):/.exec(l);
    if (m) return m[1]!;
  }
  return null;
}

describe("kernel A/B through the real flow (linux-source-6.1, QEMU TCG guests)", { skip: SKIP ? "PATCHBENCH_SKIP_KERNEL_E2E=1" : false }, () => {
  let redis: TestRedis;
  let dir: string;
  let configDir: string;
  let dataDir: string;

  before(async () => {
    // The test tree: the pinned base plus a "slow" branch whose history carries the busy-wait,
    // made with the identity and date the series script used, so its id is the improvement's base.
    const cloned = cloneKernelTestTree("pb-kab-", GIT_ENV);
    dir = cloned.dir;
    const repo = cloned.repo;
    const g = cloned.git;
    g("checkout", "-q", "-b", "slow");
    g("am", "-q", "--empty=drop", "--committer-date-is-author-date", join(DATA, "regression.mbox"));
    g("checkout", "-q", "base");
    const slowBase = /^base-commit: ([0-9a-f]{40})$/m.exec(readFileSync(join(DATA, "improvement.mbox"), "utf8"))![1]!;
    assert.equal(g("rev-parse", "slow"), slowBase, "the slow branch is the improvement series' base");

    const covers = ["regression", "noop", "improvement", "selftest", "feature", "bpfprog"].map((n) => /^Message-Id: <([^>]+)>/m.exec(readFileSync(join(DATA, `${n}.mbox`), "utf8"))![1]);
    assert.equal(new Set(covers).size, 6, "six series, six cover Message-IDs");
    configDir = join(dir, "config");
    mkdirSync(join(configDir, "trees"), { recursive: true });
    const tree = (name: string, branch: string, stages = ["apply", "build", "bench"], arms: object[] = []) => ({
      name,
      url: "unused",
      path: repo,
      branch,
      tags: [],
      stages,
      // Kselftests only: the host probes are the runner's kernel, not the series'.
      suites: [],
      checks: ["signed-off-by"],
      build: {
        baseConfig: "tinyconfig",
        selftestsConfig: false,
        extras: ["CONFIG_PRINTK=y"],
        timeoutSec: 3600,
      },
      boot: { target: "qemu", timeoutSec: 300, qemu: { kvm: "auto", memoryMb: 512, cpus: 1 } },
      bench: {
        tests: ["TCP_RR"],
        sizes: [1],
        topologies: ["loopback", "container"],
        // Adaptive: a cell noisy only by its spread, with its estimate beyond the floor, gets more rounds
        // (TCG busy-waits are jittery); a clear cell stops at 4.
        rounds: 4,
        maxRounds: 10,
        runsPerRound: 2,
        durationSec: 2,
        warmup: true,
        warmupRounds: "first",
        sides: "kernels",
        arms,
        budgetSec: 3600,
      },
    });
    writeFileSync(join(configDir, "trees", "linux-6.1.yaml"), stringify(tree("linux-6.1", "base")));
    writeFileSync(join(configDir, "trees", "linux-6.1-slow.yaml"), stringify(tree("linux-6.1-slow", "slow")));
    // test_progs: tcp_rtt (in the base tree: sock_ops on a cgroup, TCP over loopback) by name, and the series' own.
    writeFileSync(join(configDir, "trees", "linux-6.1-selftests.yaml"), stringify({ ...tree("linux-6.1-selftests", "base", ["apply", "build", "selftests"]), testProgs: { tests: ["tcp_rtt"] } }));
    // The feature's arm: the candidate kernel with busy polling on, named as the cover letter's claim names it.
    const busyPoll = { name: "busy_read=50", settings: [{ kind: "sysctl", key: "net.core.busy_read", value: "50" }], claimedAs: { from: "baseline TCP", to: "busy-poll" } };
    writeFileSync(join(configDir, "trees", "linux-6.1-feature.yaml"), stringify(tree("linux-6.1-feature", "slow", ["apply", "build", "bench"], [busyPoll])));
    // A BPF arm from the series' own selftests: a 1 ms busy-wait on the client veth's egress (tc)
    // and a sock_ops program on the bench cgroup, compiled by the build stage from the candidate
    // tree and copied into the candidate's guest by the runner.
    const bpfArm = {
      name: "tc-delay",
      settings: [
        { kind: "tc-bpf", source: "series", object: "pb_tc_busy_wait", section: "tc", side: "client" },
        { kind: "bpf-cgroup", source: "series", object: "pb_sockops_busy_poll" },
      ],
    };
    writeFileSync(join(configDir, "trees", "linux-6.1-bpfarm.yaml"), stringify(tree("linux-6.1-bpfarm", "base", ["apply", "build", "bench"], [bpfArm])));
    writeFileSync(
      join(configDir, "patchbench.yaml"),
      stringify({ trees: ["linux-6.1", "linux-6.1-slow", "linux-6.1-selftests", "linux-6.1-feature", "linux-6.1-bpfarm"], defaultTree: "linux-6.1", mail: { dryRun: true, quiet: true } }),
    );
    redis = await startTestRedis();
    dataDir = join(dir, "data");
    process.env.CCACHE_DIR = join(CACHE, "ccache");
  });
  after(async () => {
    await redis?.stop();
    // PATCHBENCH_E2E_KEEP=1 keeps the trees and the store (recorded runs for goldens, debugging).
    if (dir && process.env.PATCHBENCH_E2E_KEEP === "1") process.stderr.write(`kept ${dir}\n`);
    else if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const review = async (mbox: string, tree: string, extra: string[] = []) => {
    const t0 = Date.now();
    const r = await runCli(
      ["--config", configDir, "--data-dir", dataDir, "--redis-url", redis.url, "review", join(DATA, mbox), "--tree", tree, "--timeout", "3600", ...extra],
      { CCACHE_DIR: join(CACHE, "ccache") },
    );
    process.stderr.write(`${mbox}: review took ${((Date.now() - t0) / 1000).toFixed(0)} s\n${r.stdout}\n`);
    assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`);
    return r.stdout;
  };

  test("(a) a 500 us busy-wait per TCP segment: TCP_RR 1 B is a regression on loopback and container, each kernel booted afresh for every round", async () => {
    const report = await review("regression.mbox", "linux-6.1");
    assert.match(report, /Benchmark: netperf inside each kernel, A = base, B = candidate/);
    assert.match(report.replace(/\s+/g, " "), /Every kernel boots afresh for each round \(the boot is the unit of replication\); within a round the idle one is paused\. Switch cost/);
    assert.equal(verdictOf(report, "loopback"), "regression", report);
    assert.equal(verdictOf(report, "container"), "regression", report);
    // Two sides, each booted once per round it measured (at least the 4 fixed rounds).
    const boots = [...report.replace(/\s+/g, " ").matchAll(/; booted (\d+) times, median [\d.]+ s/g)].map((m) => Number(m[1]));
    assert.equal(boots.length, 2, report);
    assert.ok(boots.every((n) => n >= 4), report);
    // Its reproduction bundle holds the exact .config of each kernel and the commands of each cell.
    const flowId = /report (flow-\S+)/.exec(report)?.[1];
    assert.ok(flowId, report);
    const out = join(dir, `bundle-${flowId}`);
    const b = await runCli(["--config", configDir, "--data-dir", dataDir, "bundle", flowId, "--out", out]);
    assert.equal(b.code, 0, b.stderr);
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as { kernels: Record<string, { configSha256: string | null }>; gaps: string[] };
    assert.deepEqual(manifest.gaps, []);
    for (const side of ["base", "candidate"]) {
      const config = readFileSync(join(out, `kernel-${side}.config`));
      assert.match(config.toString(), /^CONFIG_NET=y$/m);
      assert.equal(createHash("sha256").update(config).digest("hex"), manifest.kernels[side]?.configSha256);
    }
    assert.match(readFileSync(join(out, "commands.txt"), "utf8"), /netperf .*-t TCP_RR/);
  });

  test("(b) a series that only adds BPF selftest programs: no cell is a regression or an improvement; an arm with those programs, built from the series and attached inside its guest, is slower than the candidate where its tc program sits", async () => {
    const report = await review("bpfprog.mbox", "linux-6.1-bpfarm");
    for (const t of ["loopback", "container"]) {
      const v = verdictOf(report, t);
      assert.ok(v !== null && v !== "regression" && v !== "improvement", `${t}: ${v}\n${report}`);
    }
    const flat = report.replace(/\s+/g, " ");
    assert.match(flat, /built tools\/testing\/selftests\/bpf\/progs\/pb_tc_busy_wait\.c, tools\/testing\/selftests\/bpf\/progs\/pb_sockops_busy_poll\.c for the arms/, report);
    // Each named by the source it was built from (the object is a long path under the flow's artifacts).
    assert.match(flat, /tc-delay: sock_ops of tools\/testing\/selftests\/bpf\/progs\/pb_sockops_busy_poll\.c \(built from the series\) attached to a cgroup holding netserver and netperf, inside the guest/, report);
    assert.match(flat, /tc-delay: tc-BPF tools\/testing\/selftests\/bpf\/progs\/pb_tc_busy_wait\.c \(built from the series\) sec tc on the client veth egress, inside the guest \(not on loopback: no veth there\)/, report);
    // The arm's busy-wait sits on the container veth only: much slower there, its whole 95% CI below 1.
    // (A tc busy-wait under TCG varies run to run, so the verdict itself may be "noisy": the CI is the claim.)
    const arm = report.slice(report.indexOf("against the candidate"));
    const container = ratioOf(arm.replace(/\s+/g, " "), "container");
    assert.ok(container && container.ratio < 0.8 && container.hi < 1, `arm vs candidate, container: ${JSON.stringify(container)}\n${report}`);
    const loop = verdictOf(arm, "loopback");
    assert.ok(loop !== "regression" && loop !== "improvement", `arm vs candidate, loopback: ${loop}\n${report}`);
  });

  test("(c) the series removes the busy-wait: improvement, and the cover letter's claim is checked, not 'not measured'", async () => {
    const report = await review("improvement.mbox", "linux-6.1-slow");
    assert.equal(verdictOf(report, "loopback"), "improvement", report);
    const claim = /^Claims in the series: 1 \((\d) consistent, (\d) not reproduced, (\d) not\s+measured\)/m.exec(report);
    assert.ok(claim, report);
    assert.equal(claim[3], "0", `the claim must be compared with the measured cell:\n${report}`);
  });

  test("(d) a series adds a kselftest and a test_progs test that fail on purpose: test_progs built from each tree, all run inside both kernels, 'new in this series: fails', a named test passes in both, and the mail is not quiet", async () => {
    const out = JSON.parse(await review("selftest.mbox", "linux-6.1-selftests", ["--json"])) as { text: string; mail: { action: string; reasons: string[] } }[];
    const report = out[0]!.text;
    const flat = report.replace(/\s+/g, " ");
    assert.match(flat, /Selftests: 1 passed, 2 failed of 3 \(kselftests and test_progs\)/, report);
    assert.match(flat, /FAIL kselftest\/net\/pb_ktap_smoke\.sh new in this series: fails \(1 of 2 passed; failed: fails_on_purpose\)/, report);
    // test_progs from the candidate's tree holds the series' test; the base's does not.
    assert.match(flat, /FAIL test_progs\/pb_smoke new in this series: fails \(failed: pb_smoke\/fails_on_purpose\)/, report);
    assert.match(flat, /PASS test_progs\/tcp_rtt passes on base and candidate/, report);
    assert.match(flat, /test_progs with the flow.s 2 test\(s\): 2 for candidate \(\d+ s\); 1 for base \(\d+ s\); vmlinux.h from the runner.s kernel BTF/, report);
    // Run inside the series' own kernel, not the runner's: the stage names the guests.
    assert.match(flat, /kselftests and test_progs: base and candidate kernels under QEMU (tcg|kvm)/, report);
    assert.equal(out[0]!.mail.action, "send", JSON.stringify(out[0]!.mail));
    // Quiet mode is on in this config: the mail goes out because of the failing selftests.
    assert.deepEqual(out[0]!.mail.reasons, ["2 selftest(s) failed"], JSON.stringify(out[0]!.mail));
    // The same series again (as a /bench on it would): the kept kernels and the kept test_progs of
    // that flow, nothing built, the same results.
    const again = (JSON.parse(await review("selftest.mbox", "linux-6.1-selftests", ["--json", "--rerun"])) as { text: string }[])[0]!.text;
    const flat2 = again.replace(/\s+/g, " ");
    assert.match(flat2, /reused the kept base[^;]* candidate of flow \S+ \(same commit/, again);
    assert.doesNotMatch(flat2, /config and compiler\), built/, again);
    assert.match(flat2, /test_progs with the flow.s 2 test\(s\): 2 for candidate \(kept from flow \S+, no build\); 1 for base \(kept from flow \S+, no build\)/, again);
    assert.match(flat2, /Selftests: 1 passed, 2 failed of 3 \(kselftests and test_progs\)/, again);
  });

  test("(e) a feature behind a setting: no change by default, the arm with the setting is faster than the plain candidate, and the 'baseline vs feature' claim is checked against it", async () => {
    const out = JSON.parse(await review("feature.mbox", "linux-6.1-feature", ["--json"])) as { text: string; mail: { action: string; reasons: string[] } }[];
    const report = out[0]!.text;
    assert.match(report.replace(/\s+/g, " "), /A = base, B = candidate \(the series\); arms on the candidate kernel: busy_read=50/);
    // Three sides, each booted per round: base, candidate, and the candidate again with busy polling.
    assert.equal((report.replace(/\s+/g, " ").match(/; booted \d+ times, median [\d.]+ s/g) ?? []).length, 3, report);
    for (const t of ["loopback", "container"]) {
      const v = verdictOf(report, t);
      assert.ok(v !== null && v !== "regression" && v !== "improvement", `base vs candidate, ${t}: ${v}\n${report}`);
    }
    assert.equal(verdictOf(report, "loopback", "against the candidate"), "improvement", report);
    assert.equal(verdictOf(report, "loopback", "against the base"), "improvement", report);
    const claim = /^Claims in the series: 1 \((\d) consistent, (\d) not reproduced, (\d) not\s+measured\)/m.exec(report);
    assert.ok(claim, report);
    assert.equal(claim[3], "0", `the claim must be held against the arm's cell:\n${report}`);
    assert.match(report.replace(/\s+/g, " "), /held against baseline TCP -> busy-poll/, report);
    // Quiet mode is on: the arm's speedup is what makes the report worth a mail.
    assert.equal(out[0]!.mail.action, "send", JSON.stringify(out[0]!.mail));
    assert.ok(out[0]!.mail.reasons.some((r) => /^arm busy_read=50: \d cell\(s\) faster than the candidate$/.test(r)), JSON.stringify(out[0]!.mail));
  });
});
