// patchbench:measure-alone — builds kernels and boots a QEMU guest (TCG) that kexecs between them.
/**
 * The ssh boot target against a real second kernel: a QEMU guest stands in for the bare-metal
 * box (the runner's userspace over 9p, Debian's sshd on a forwarded loopback port, kexec-tools),
 * booted with the base kernel of the pinned linux-6.1 tree. The target copies the candidate (the
 * busy-wait series of the kernel tier) over scp, kexecs into it, waits for ssh and a new boot id,
 * checks /proc/version names the candidate's build, runs the probe there and switches back; a
 * switch that lands in another kernel is refused. Nothing is a stand-in script.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { benchSchema, bootSchema, buildSchema } from "../../src/config/schema.ts";
import { benchPlanOf } from "../../src/domain/bench-plan.ts";
import type { BuildData } from "../../src/domain/results.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { kernelVariants, openKernelSides } from "../../src/runner/bench/kernel-sides.ts";
import { runBenchSessions } from "../../src/runner/bench/run-bench-sessions.ts";
import { analyzeSamples } from "../../src/stats/analyze-samples.ts";
import { defaultSandbox } from "../../src/lib/sandbox.ts";
import { buildGuestProbe } from "../../src/runner/boot/build-guest-probe.ts";
import { readBzImageVersion } from "../../src/runner/boot/kernel-identity.ts";
import { createSshTarget } from "../../src/runner/boot/ssh-target.ts";
import { buildKernel } from "../../src/runner/build/build-kernel.ts";
import { kernelCacheKey, keepBuiltKernel, takeCachedKernel } from "../../src/runner/build/kernel-cache.ts";
import { cloneKernelTestTree } from "../helpers/kernel-test-tree.ts";
import { type QemuSshTarget, startQemuSshTarget, TARGET_SHARE } from "../helpers/qemu-ssh-target.ts";

// Opt-in: each switch costs half a minute to a minute under TCG here, the A/B a quarter of an hour
// (README, "SSH / kexec setup").
const skip =
  process.env.PATCHBENCH_KEXEC_E2E !== "1"
    ? "opt-in: PATCHBENCH_KEXEC_E2E=1"
    : process.env.PATCHBENCH_SKIP_KERNEL_E2E === "1"
    ? "PATCHBENCH_SKIP_KERNEL_E2E=1"
    : process.geteuid?.() !== 0
      ? "needs root (sandboxed builds, QEMU)"
      : !existsSync("/usr/sbin/kexec")
        ? "kexec-tools is not installed (apt-get install kexec-tools)"
        : false;
const DATA = join(import.meta.dirname, "..", "data", "kernel-ab");
const CACHE = process.env.PATCHBENCH_CACHE ?? "/var/cache/patchbench";
const GIT_ENV = { GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", GIT_AUTHOR_NAME: "Ada Hacker", GIT_AUTHOR_EMAIL: "ada@example.org", GIT_COMMITTER_NAME: "Ada Hacker", GIT_COMMITTER_EMAIL: "ada@example.org" };

let dir: string;
const images: Record<"base" | "candidate", string> = { base: "", candidate: "" };
const commits: Record<"base" | "candidate", string> = { base: "", candidate: "" };
let target: QemuSshTarget | null = null;

before(async () => {
  if (skip) return;
  const cloned = cloneKernelTestTree("pb-kexec-", GIT_ENV);
  dir = cloned.dir;
  // What a bare-metal kernel of this tier needs besides the guest fragment: kexec (of a relocatable
  // bzImage, as kexec-tools loads it) and a NIC for sshd.
  const config = buildSchema.parse({ baseConfig: "tinyconfig", selftestsConfig: false, extras: ["CONFIG_PRINTK=y", "CONFIG_KEXEC=y", "CONFIG_RELOCATABLE=y", "CONFIG_VIRTIO_NET=y"], timeoutSec: 3600 });
  const sandbox = defaultSandbox([join(dir, "data")]);
  // The tree is the sandbox user's once a build ran in it; these commits are the test's own.
  const g = (...a: string[]) => cloned.git("-c", "safe.directory=*", ...a);
  // Kept between runs like a runner keeps kernels (build.reuseKernels), in the tier's cache: the
  // commits are fixed (fixture identities, committer date = author date), so a warm run builds nothing.
  const keepRoot = join(CACHE, "test-kernels");
  const compiler = execFileSync("gcc", ["-dumpfullversion"], { encoding: "utf8" }).trim();
  const build = async (label: "base" | "candidate") => {
    commits[label] = g("rev-parse", "HEAD");
    const key = kernelCacheKey({ commit: commits[label], config, hasSelftestsConfig: false, compiler });
    const kept = takeCachedKernel({ artifactsRoot: keepRoot, key, artifactsDir: join(dir, "artifacts"), label });
    const b = kept ?? (await buildKernel({ treeDir: cloned.repo, commit: commits[label], label, config, artifactsDir: join(dir, "artifacts"), ccacheDir: join(CACHE, "ccache"), ccacheWrite: label === "base", sandbox }));
    if (!kept) keepBuiltKernel({ artifactsRoot: keepRoot, key, flowId: "ssh-target-kexec test", build: b });
    images[label] = b.image!;
  };
  await build("base");
  g("am", "-q", "--empty=drop", "--committer-date-is-author-date", join(DATA, "regression.mbox"));
  await build("candidate");
  target = await startQemuSshTarget({ kernel: images.base, dir: join(dir, "target") });
});
after(async () => {
  await target?.close().catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sshCfg = (t: QemuSshTarget, over: Partial<ReturnType<typeof bootSchema.parse>["ssh"]> = {}) => ({
  ...bootSchema.parse({}).ssh,
  host: "127.0.0.1",
  port: t.port,
  identityFile: t.identityFile,
  knownHostsFile: t.knownHostsFile,
  remoteDir: "/var/tmp/patchbench",
  rebootCommand: t.rebootCommand,
  restoreCommand: t.restoreCommand,
  bootDeadlineSec: 400,
  ...over,
});

test("ssh target: kexec into the candidate for real, a new boot id and its own /proc/version, the probe run there, then back to the default kernel", { skip, timeout: 1_800_000 }, async () => {
  const t = target!;
  const bootIds = [t.ssh(["cat", "/proc/sys/kernel/random/boot_id"]).trim()];
  // The builds name their commits: two images of one tree are told apart.
  const want = { base: readBzImageVersion(images.base)!, candidate: readBzImageVersion(images.candidate)! };
  assert.match(want.base, new RegExp(`#${commits.base.slice(0, 12)} `));
  assert.match(want.candidate, new RegExp(`#${commits.candidate.slice(0, 12)} `));
  assert.match(t.ssh(["cat", "/proc/version"]), new RegExp(`#${commits.base.slice(0, 12)} `));

  const artifactsDir = join(dir, "flow");
  mkdirSync(artifactsDir, { recursive: true });
  const probe = await buildGuestProbe(join(dir, "cache"));
  const run = await createSshTarget(sshCfg(t), { pollMs: 1000 }).run({ kernel: { label: "candidate", image: images.candidate }, probe, timeoutMs: 120_000, artifactsDir });
  const log = readFileSync(join(artifactsDir, "ssh-candidate.log"), "utf8");
  assert.equal(run.outcome, "ok", `${run.reason}\n${log}`);
  assert.match(run.reason, /switched back$/);
  assert.ok(run.probes.length > 0 && run.probes.every((p) => p.status !== "fail"), JSON.stringify(run.probes));
  // The switch: a new boot id, and the candidate's build running (seen by the target itself).
  const switched = /boot id (\S+) -> (\S+)/.exec(log);
  assert.ok(switched, log);
  assert.equal(switched[1], bootIds[0]);
  assert.notEqual(switched[2], bootIds[0]);
  bootIds.push(switched[2]!);
  assert.match(log, new RegExp(`running: Linux version \\S+ .*#${commits.candidate.slice(0, 12)} `));
  // And back: a third boot, the base's build again.
  const now = t.ssh(["cat", "/proc/sys/kernel/random/boot_id"]).trim();
  assert.ok(!bootIds.includes(now), `a third boot id: ${bootIds.join(", ")}, ${now}`);
  assert.match(t.ssh(["cat", "/proc/version"]), new RegExp(`#${commits.base.slice(0, 12)} `));
});

test("ssh target: a switch that lands in another kernel than the image is refused, and the target is switched back", { skip, timeout: 1_800_000 }, async () => {
  const t = target!;
  const artifactsDir = join(dir, "flow-wrong");
  mkdirSync(artifactsDir, { recursive: true });
  const probe = await buildGuestProbe(join(dir, "cache"));
  // A box whose boot entry still points at its default kernel: the copied candidate is ignored.
  const wrong = sshCfg(t, { switchCommand: ["kexec", "-l", `${TARGET_SHARE}/default-bzImage`, "--reuse-cmdline"] });
  const run = await createSshTarget(wrong, { pollMs: 1000 }).run({ kernel: { label: "candidate", image: images.candidate }, probe, timeoutMs: 120_000, artifactsDir });
  assert.equal(run.outcome, "error");
  assert.match(run.reason, new RegExp(`came up with another kernel than the candidate image: .*#${commits.base.slice(0, 12)} .*the image is ".*#${commits.candidate.slice(0, 12)} `));
  assert.match(run.reason, /switched back$/);
  assert.equal(run.probes.length, 0, "nothing is measured on the wrong kernel");
  assert.match(t.ssh(["cat", "/proc/version"]), new RegExp(`#${commits.base.slice(0, 12)} `));
  // The candidate's image was copied, so the check is about what runs, not what was sent.
  assert.match(execFileSync("ls", [join(dir, "artifacts")], { encoding: "utf8" }), /bzImage-candidate/);
});


test("kernel A/B on the ssh target: each change of side a kexec, netperf run on the target, the 500 us busy-wait a regression, the target back on its default kernel", { skip, timeout: 1_800_000 }, async () => {
  const t = target!;
  const artifactsDir = join(dir, "flow-bench");
  const boot = bootSchema.parse({ target: "ssh", ssh: sshCfg(t) });
  const bench = benchSchema.parse({ tests: ["TCP_RR"], sizes: [1], topologies: ["loopback", "container"], rounds: 3, maxRounds: 3, runsPerRound: 2, durationSec: 2, warmupRounds: "first", sides: "kernels", bootEvery: "side" });
  const variants = kernelVariants([]);
  const kernel = (label: "base" | "candidate") => ({ commit: commits[label], ok: true, durationMs: 0, warnings: [], logTail: "", logPath: "", image: images[label], ccache: true });
  const build: BuildData = { config: { base: "tinyconfig", fragments: [], extras: [] }, base: kernel("base"), candidate: kernel("candidate"), newWarnings: [], boots: [], probeChanges: [] };
  // bootEvery "job" asked for: a machine that holds one kernel runs "side" whatever is asked.
  const opened = await openKernelSides({ variants, build, boot, topologies: ["loopback", "container"], pinning: null, artifactsDir, log: silentLogger(), bootEvery: "job" });
  assert.ok(opened.ok, JSON.stringify(opened));
  let samples: Awaited<ReturnType<typeof runBenchSessions>>["samples"] = [];
  try {
    samples = (await runBenchSessions(benchPlanOf({ ...bench, variants }, { adaptive: false }), opened.sessions, { log: silentLogger(), settleMs: 500 })).samples;
  } finally {
    for (const s of opened.sessions) await s.close();
  }
  assert.equal(await opened.restore(), "switched back");
  // The machine held one kernel at a time: every change of side was a kexec with a new boot id
  // and the side's own build in /proc/version (each switch's log is kept like a guest console).
  const logs = readdirSync(artifactsDir).filter((f) => /^console-bench-(base|candidate)-\d+\.log$/.test(f));
  assert.ok(logs.length >= 4, `switches: ${logs.join(", ")}`);
  const ids = new Set<string>();
  const switchMs: number[] = [];
  for (const f of logs) {
    const text = readFileSync(join(artifactsDir, f), "utf8");
    const side = /^console-bench-(base|candidate)-/.exec(f)![1] as "base" | "candidate";
    const m = /boot id (\S+) -> (\S+)/.exec(text);
    assert.ok(m && m[1] !== m[2], `${f}:\n${text}`);
    ids.add(m[2]!);
    assert.match(text, new RegExp(`running: Linux version .*#${commits[side].slice(0, 12)} `), f);
    switchMs.push(Number(/reboot to ssh with a new boot id (\d+) ms/.exec(text)?.[1] ?? Number.NaN));
  }
  assert.equal(ids.size, logs.length, "a new boot for every switch");
  const cells = analyzeSamples(samples, ["base", "candidate"]).cells;
  assert.equal(cells.length, 2);
  for (const c of cells) {
    assert.equal(c.analysis.verdict, "regression", `${c.key}: ${c.analysis.ratio} ${JSON.stringify(c.analysis.ci95)}`);
    assert.ok(c.analysis.ci95![1] < 1, c.key);
  }
  assert.match(t.ssh(["cat", "/proc/version"]), new RegExp(`#${commits.base.slice(0, 12)} `));
  const sorted = [...switchMs].sort((a, b) => a - b);
  process.stdout.write(
    `# ssh target A/B: ${cells.map((c) => `${c.key} ${c.analysis.ratio.toFixed(3)}x [${c.analysis.ci95![0].toFixed(3)}, ${c.analysis.ci95![1].toFixed(3)}] ${c.analysis.verdict}`).join("; ")}; ${logs.length} switches, kexec to ssh median ${sorted[Math.floor(sorted.length / 2)]} ms\n`,
  );
});
