import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { BuildConfig } from "../../src/config/schema.ts";
import { bootSchema, buildSchema } from "../../src/config/schema.ts";
import type { ApplyData } from "../../src/domain/results.ts";
import { git } from "../../src/lib/git.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { stageJobSchema } from "../../src/queue/payloads.ts";
import { applySeries } from "../../src/runner/apply/apply-series.ts";
import { buildGuestProbe } from "../../src/runner/boot/build-guest-probe.ts";
import { createQemuTarget } from "../../src/runner/boot/qemu-target.ts";
import { runBuildStage } from "../../src/runner/run-build-stage.ts";
import { PROJECT_ROOT, readFixture } from "../helpers/fixtures.ts";

/**
 * The real kernel tier: Debian's linux-source-6.1 (cached under
 * $PATCHBENCH_CACHE, default /var/cache/patchbench, with ccache), the real
 * netdev series of fixtures/mail/apply-6.1, a tinyconfig build of base and
 * candidate, and a QEMU TCG boot of both running the in-guest probe.
 * PATCHBENCH_SKIP_KERNEL_E2E=1 skips it locally; .ci/run runs it.
 */
const SKIP = process.env.PATCHBENCH_SKIP_KERNEL_E2E === "1";
const CACHE = process.env.PATCHBENCH_CACHE ?? "/var/cache/patchbench";
const BASE = "d297c3ede9e738a609a04b5f927b101e924fac8a";

/** The kernel tier's one build config (shared with kernel-ab-e2e, so one ccache serves both): tinyconfig + the guest fragment. */
export const E2E_BUILD: BuildConfig = buildSchema.parse({
  baseConfig: "tinyconfig",
  selftestsConfig: false,
  extras: ["CONFIG_PRINTK=y"],
  timeoutSec: 3000,
});

describe("runner on a real kernel tree (linux-source-6.1, QEMU TCG)", { skip: SKIP ? "PATCHBENCH_SKIP_KERNEL_E2E=1" : false }, () => {
  let repo: string;
  let workDir: string;
  const series = (name: string, n: number) =>
    Array.from({ length: n }, (_, i) => {
      const raw = readFixture("mail", "apply-6.1", `${name}-${i + 1}.eml`);
      const subject = /^Subject: (.*)$/m.exec(raw.toString("latin1"))?.[1] ?? "";
      return { index: i + 1, subject, rawBase64: raw.toString("base64") };
    });
  const job = (flowId: string, patches: ReturnType<typeof series>, stage: "apply" | "build" = "apply") =>
    stageJobSchema.parse({
      flowId,
      seriesId: flowId,
      stage,
      tree: { name: "linux-6.1", url: "unused", path: repo, branch: "base", allowBinary: false, allowSymlinks: false },
      baseCommit: null,
      patches,
      suites: [],
      bench: {},
      build: E2E_BUILD,
      boot: bootSchema.parse({ target: "qemu", timeoutSec: 240, qemu: { kvm: "auto" } }),
    });
  const deps = () => ({ git, log: silentLogger(), workDir, runner: "e2e" });

  before(() => {
    const t0 = Date.now();
    repo = execFileSync("bash", [join(PROJECT_ROOT, "scripts", "prepare-kernel-tree.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim().split("\n").pop()!;
    process.stderr.write(`kernel tree ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${repo}\n`);
    workDir = mkdtempSync(join(tmpdir(), "pb-e2e-"));
    // make runs as the sandbox user, which must reach the worktrees (mkdtemp makes 0700).
    chmodSync(workDir, 0o711);
  });
  after(() => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  let delack: ApplyData | undefined;
  test("apply: delack applies, autotune names tcp.h:218, tcpclose patch 1 is already applied; checks ran on the tree's checkpatch", async () => {
    const a = await applySeries(job("e2e-delack", series("delack", 3)), deps());
    assert.equal(a.data.baseCommit, BASE);
    assert.equal(a.data.baseRule, "tree tip");
    assert.equal(a.data.applied, 3, a.summary);
    const cp = a.data.checks?.find((c) => c.id === "checkpatch");
    assert.equal(cp?.status, "warn", cp?.summary);
    assert.deepEqual(cp?.findings.map((f) => [f.patch, f.code]), [[3, "COMMIT_LOG_LONG_LINE"]]);
    assert.equal(a.data.checks?.find((c) => c.id === "signed-off-by")?.status, "pass");
    delack = a.data;

    const b = await applySeries(job("e2e-autotune", series("autotune", 3)), deps());
    assert.equal(b.status, "fail");
    assert.equal(b.data.failure?.patch, 1);
    assert.ok(b.data.failure?.hunks?.includes("include/trace/events/tcp.h:218"), JSON.stringify(b.data.failure));
    assert.match(b.data.failure?.gitMessage ?? "", /Repository lacks necessary blobs|patch failed: include\/trace\/events\/tcp\.h:218/);

    const c = await applySeries(job("e2e-tcpclose", series("tcpclose", 3)), deps());
    assert.equal(c.status, "warn", c.summary);
    assert.deepEqual(c.data.alreadyApplied?.map((x) => x.patch), [1]);
    assert.equal(c.data.applied, 2);
    // No history: checkpatch ran with --ignore UNKNOWN_COMMIT_ID, so the Fixes: id is not a finding.
    assert.equal(c.data.checks?.find((x) => x.id === "checkpatch")?.findings.some((f) => f.code === "UNKNOWN_COMMIT_ID"), false);
    assert.deepEqual(readdirSync(join(workDir, "worktrees")), []);
  });

  test("build + boot: tinyconfig base and candidate (ccache), no new warnings, both kernels boot under QEMU and run the probe", async () => {
    assert.ok(delack?.head, "apply test ran first");
    mkdirSync(join(CACHE, "ccache"), { recursive: true });
    const t0 = Date.now();
    const r = await runBuildStage(job("e2e-delack", series("delack", 3), "build"), { ...deps(), apply: delack, ccacheDir: join(CACHE, "ccache") });
    process.stderr.write(
      `build stage ${((Date.now() - t0) / 1000).toFixed(1)} s: base build ${(r.data.base?.durationMs ?? 0) / 1000} s, candidate ${(r.data.candidate?.durationMs ?? 0) / 1000} s, boots ${r.data.boots.map((b) => `${b.kernel} ${b.durationMs / 1000} s ${b.outcome}`).join(", ")}\n`,
    );
    assert.equal(r.status, "pass", `${r.summary}\n${r.data.base?.logTail ?? ""}\n${r.data.candidate?.logTail ?? ""}`);
    assert.equal(r.data.base?.ccache, true);
    assert.deepEqual(r.data.newWarnings, []);
    assert.deepEqual(r.data.boots.map((b) => [b.kernel, b.outcome]), [["base", "ok"], ["candidate", "ok"]]);
    for (const b of r.data.boots) {
      assert.match(b.reason, /6\.1\.192/);
      assert.deepEqual(b.probes.map((p) => [p.name, p.status]), [["tcp-loopback-round-trip", "pass"], ["so-busy-poll-setsockopt", "pass"]], b.consoleTail);
    }
    assert.ok(existsSync(join(workDir, "artifacts", "e2e-delack", "console-candidate.log")));
    assert.deepEqual(readdirSync(join(workDir, "worktrees")), []);
  });

  test("a kernel that never reaches init and one that misses its deadline: panic and timeout with the console tail", async () => {
    const image = join(workDir, "artifacts", "e2e-delack", "bzImage-base");
    assert.ok(existsSync(image));
    const probe = await buildGuestProbe(join(workDir, "cache"));
    const artifactsDir = join(workDir, "artifacts", "faults");
    const noInit = createQemuTarget(bootSchema.parse({ qemu: { append: "rdinit=/no-such-init init=/no-such-init" } }).qemu);
    const p = await noInit.run({ kernel: { label: "candidate", image }, probe, timeoutMs: 120_000, artifactsDir });
    assert.equal(p.outcome, "panic", p.consoleTail);
    assert.match(p.consoleTail, /Kernel panic - not syncing/);
    const slow = createQemuTarget(bootSchema.parse({}).qemu);
    const t = await slow.run({ kernel: { label: "candidate", image }, probe, timeoutMs: 300, artifactsDir });
    assert.equal(t.outcome, "timeout");
    assert.deepEqual(t.probes.map((x) => x.status), ["error", "error"]);
  });
});
