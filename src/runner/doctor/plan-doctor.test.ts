import assert from "node:assert/strict";
import { test } from "node:test";
import type { MachineProfile } from "../bench/machine-profile.ts";
import { parseCcacheSize } from "./collect-doctor-facts.ts";
import { type DoctorFacts, type DoctorNeeds, doctorUnfit, formatDoctor, planDoctor } from "./plan-doctor.ts";

const tunedProfile: MachineProfile = {
  cpuModel: "Intel(R) Xeon(R) Gold 6338",
  onlineCpus: "0-15",
  cpuCount: 16,
  isolatedCpus: "8-15",
  governor: "performance",
  smt: "off",
  smtActive: false,
  turbo: "off",
  kernelRelease: "6.12.0",
  kernelCmdline: "isolcpus=8-15 nohz_full=8-15",
  sysctls: {},
  netperfVersion: "2.7.0",
  irqAffinity: { total: 40, spreadOverAll: 0, byCpuList: { "0-7": 40 } },
  isVirtual: false,
};
const allCommands = Object.fromEntries(
  ["git", "netperf", "netserver", "bwrap", "setpriv", "prlimit", "gcc", "make", "flex", "bison", "bc", "perl", "qemu-system-x86_64", "busybox", "ssh", "ccache"].map((c) => [c, true]),
);
const tuned: DoctorFacts = {
  profile: tunedProfile,
  commands: allCommands,
  sandboxUser: { name: "patchbench-sandbox", exists: true },
  kvm: true,
  irqbalanceRunning: false,
  clocksource: "tsc",
  load1: 0.1,
  memAvailableMB: 60_000,
  freeDiskMB: 400_000,
  ccacheMaxMB: 20 * 1024,
  sshTargets: [],
  remotePeers: [],
};
const needs: DoctorNeeds = { build: true, qemu: true, ssh: false, sandbox: "bwrap", diskMB: 30720 };
/** What this project's 2-vCPU VM reports (runner doctor, read here). */
const vm: DoctorFacts = {
  ...tuned,
  profile: { ...tunedProfile, cpuCount: 2, onlineCpus: "0-1", isolatedCpus: "", governor: "unavailable", smt: "notsupported", smtActive: null, turbo: "unavailable", kernelCmdline: "console=ttyS0", irqAffinity: { total: 19, spreadOverAll: 19, byCpuList: { "0-1": 19 } }, isVirtual: true },
  kvm: false,
  clocksource: "kvm-clock",
  load1: 1.7,
  ccacheMaxMB: 5 * 1024,
};

test("planDoctor: a tuned bare-metal box passes every check", () => {
  const checks = planDoctor(tuned, needs, true);
  assert.deepEqual(checks.filter((c) => c.status !== "ok").map((c) => c.name), []);
  assert.equal(doctorUnfit(checks), false);
  assert.match(formatDoctor(checks, true), /\d+ ok, 0 warn, 0 fail: fit for benchmarks\n$/);
});

test("planDoctor: an untuned VM warns with the fix, and fails only for a bench-grade pool", () => {
  const usable = planDoctor(vm, needs, false);
  assert.equal(doctorUnfit(usable), false);
  assert.deepEqual(
    usable.filter((c) => c.status === "warn").map((c) => c.name),
    ["ccache", "KVM", "cpufreq governor", "isolated CPUs", "IRQ steering", "other load", "clock source", "machine"],
  );
  assert.match(usable.find((c) => c.name === "cpufreq governor")!.fix!, /cpupower frequency-set -g performance/);
  const strict = planDoctor(vm, needs, true);
  assert.equal(doctorUnfit(strict), true);
  assert.deepEqual(
    strict.filter((c) => c.status === "fail").map((c) => c.name),
    ["cpufreq governor", "isolated CPUs", "IRQ steering", "other load", "clock source", "machine"],
    "tuning fails; KVM and ccache stay warnings",
  );
  assert.match(formatDoctor(strict, true), /unfit for a bench-grade pool \(runner\.requireTuned\): fix the FAIL lines\n$/);
});

test("planDoctor: what the stages need is always required; what they do not need is not checked", () => {
  const noNetperf = planDoctor({ ...tuned, commands: { ...allCommands, netserver: false } }, needs, false);
  assert.equal(noNetperf.find((c) => c.name === "packages: netperf")?.status, "fail");
  assert.equal(doctorUnfit(noNetperf), true, "a box without netserver cannot bench at all");
  const disk = (mb: number) => planDoctor({ ...tuned, freeDiskMB: mb }, needs, false).find((c) => c.name === "free disk (work dir)")?.status;
  assert.equal(disk(10_000), "warn", "under the sandbox's disk budget: a big build may not fit");
  assert.equal(disk(1_000), "fail", "under 2 GiB nothing fits");
  const hostOnly = planDoctor({ ...tuned, commands: { ...allCommands, gcc: false, "qemu-system-x86_64": false } }, { ...needs, build: false, qemu: false }, false);
  assert.equal(hostOnly.some((c) => c.name === "packages: kernel build" || c.name === "KVM"), false);
  assert.equal(doctorUnfit(hostOnly), false);
  const smtOn = planDoctor({ ...tuned, profile: { ...tunedProfile, smt: "on", smtActive: true } }, needs, true);
  assert.equal(smtOn.find((c) => c.name === "SMT")?.status, "fail");
});

test("parseCcacheSize: ccache's max_size as it prints it", () => {
  assert.equal(parseCcacheSize("5.0G"), 5120);
  assert.equal(parseCcacheSize("20 GiB"), 20480);
  assert.equal(parseCcacheSize("500M"), 500);
  assert.equal(parseCcacheSize("unlimited"), null);
});
