import type { MachineProfile } from "../bench/machine-profile.ts";
import { planRemotePeerChecks, planSshTargetChecks, type RemotePeerFacts, type SshTargetFacts } from "./plan-ssh-checks.ts";

/** What `runner doctor` read from the box (collect-doctor-facts.ts); everything else here is pure. */
export interface DoctorFacts {
  profile: MachineProfile;
  /** Commands found on PATH, by name. */
  commands: Record<string, boolean>;
  sandboxUser: { name: string; exists: boolean };
  kvm: boolean;
  irqbalanceRunning: boolean;
  clocksource: string | null;
  /** 1-minute load average. */
  load1: number;
  memAvailableMB: number | null;
  /** Free space where the work dir lives. */
  freeDiskMB: number | null;
  /** ccache's max_size in MB; null without ccache. */
  ccacheMaxMB: number | null;
  /** The ssh boot targets the trees use (boot.target: ssh), as read over ssh. */
  sshTargets: SshTargetFacts[];
  /** The remote bench peers the trees use (bench.remote), as read over ssh. */
  remotePeers: RemotePeerFacts[];
}

/** What the runner's trees and settings need from the box. */
export interface DoctorNeeds {
  build: boolean;
  qemu: boolean;
  ssh: boolean;
  sandbox: "bwrap" | "none";
  /** runner.sandboxLimits.diskMB: a build must fit. */
  diskMB: number;
}

export interface DoctorCheck {
  name: string;
  /** What was seen. */
  seen: string;
  status: "ok" | "warn" | "fail";
  /** The command(s) that fix it, when not ok. */
  fix: string | null;
  /** A tuning check: fails a box only for a bench-grade pool (runner.requireTuned). */
  tuning: boolean;
}

const check = (name: string, seen: string, ok: boolean, fix: string, o: { tuning?: boolean; severity?: "warn" | "fail" } = {}): DoctorCheck => ({
  name,
  seen,
  status: ok ? "ok" : (o.severity ?? "fail"),
  fix: ok ? null : fix,
  tuning: o.tuning ?? false,
});

/**
 * Pure: every check of a benchmark box, in the order a lab admin would go
 * through them. Packages the configured stages need and the disk a build
 * needs fail always; the tuning a bench-grade box must have (governor, SMT,
 * turbo, isolated CPUs, IRQ steering, quiet machine, clock source) is
 * "warn", and "fail" when `requireTuned` asks for a bench-grade pool.
 */
export function planDoctor(f: DoctorFacts, needs: DoctorNeeds, requireTuned: boolean): DoctorCheck[] {
  const p = f.profile;
  const tune = requireTuned ? "fail" : "warn";
  const has = (c: string) => f.commands[c] === true;
  const out: DoctorCheck[] = [];
  const pkgs = (label: string, cmds: string[], pkg: string) => {
    const missing = cmds.filter((c) => !has(c));
    return check(`packages: ${label}`, missing.length ? `missing ${missing.join(", ")}` : "present", missing.length === 0, `apt-get install ${pkg}`);
  };
  out.push(pkgs("git", ["git"], "git"));
  out.push(pkgs("netperf", ["netperf", "netserver"], "netperf"));
  out.push(check("netperf version", p.netperfVersion ?? "none", p.netperfVersion?.startsWith("2.7") ?? false, "apt-get install netperf (2.7.0, Debian non-free)", { severity: "warn" }));
  if (needs.sandbox === "bwrap") out.push(pkgs("sandbox", ["bwrap", "setpriv", "prlimit"], "bubblewrap util-linux"));
  out.push(
    check(`sandbox user ${f.sandboxUser.name}`, f.sandboxUser.exists ? "exists" : "missing (falls back to uid 65534)", f.sandboxUser.exists, "bash scripts/setup-system.sh", {
      severity: "warn",
    }),
  );
  if (needs.build) out.push(pkgs("kernel build", ["gcc", "make", "flex", "bison", "bc", "perl"], "gcc make flex bison bc perl libelf-dev libssl-dev"));
  if (needs.build) {
    out.push(
      check("ccache", f.ccacheMaxMB === null ? "not installed" : `max size ${Math.round(f.ccacheMaxMB / 1024)} GiB`, f.ccacheMaxMB !== null && f.ccacheMaxMB >= 10 * 1024, f.ccacheMaxMB === null ? "apt-get install ccache" : "ccache -M 20G (with CCACHE_DIR on a fast disk)", {
        severity: "warn",
      }),
    );
  }
  if (needs.qemu) {
    out.push(pkgs("QEMU guests", ["qemu-system-x86_64", "busybox"], "qemu-system-x86 busybox-static"));
    out.push(check("KVM", f.kvm ? "/dev/kvm usable" : "not usable: guests boot under TCG (about 10x slower)", f.kvm, "enable virtualization in the firmware; modprobe kvm_intel (or kvm_amd)", { severity: "warn" }));
  }
  if (needs.ssh) out.push(pkgs("ssh target", ["ssh"], "openssh-client"));
  for (const t of f.sshTargets) out.push(...planSshTargetChecks(t));
  for (const peer of f.remotePeers) out.push(...planRemotePeerChecks(peer, p.netperfVersion));
  // Under 2 GiB nothing fits (a mirror, a worktree); under the sandbox's disk budget a big build may not.
  const disk = f.freeDiskMB;
  out.push(
    check(
      "free disk (work dir)",
      disk === null ? "unknown" : `${Math.round(disk / 1024)} GiB`,
      disk !== null && disk >= needs.diskMB,
      `free space, or move runner.workDir: a job may use runner.sandboxLimits.diskMB = ${Math.round(needs.diskMB / 1024)} GiB`,
      { severity: disk !== null && disk < 2048 ? "fail" : "warn" },
    ),
  );
  out.push(check("memory available", f.memAvailableMB === null ? "unknown" : `${Math.round(f.memAvailableMB / 1024)} GiB`, (f.memAvailableMB ?? 0) >= 4096, "stop other work, or add memory (builds and guests need 4 GiB)", { severity: "warn" }));

  const governorOk = p.governor === "performance";
  out.push(
    check("cpufreq governor", p.governor, governorOk, "cpupower frequency-set -g performance  (or: echo performance | tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor)", {
      tuning: true,
      severity: tune,
    }),
  );
  const smtOff = !(p.smt === "on" || p.smtActive === true);
  out.push(check("SMT", p.smt, smtOff, "echo off > /sys/devices/system/cpu/smt/control  (or nosmt on the kernel command line)", { tuning: true, severity: tune }));
  out.push(
    check("turbo/boost", p.turbo, p.turbo !== "on", "echo 1 > /sys/devices/system/cpu/intel_pstate/no_turbo  (acpi-cpufreq: echo 0 > /sys/devices/system/cpu/cpufreq/boost)", {
      tuning: true,
      severity: tune,
    }),
  );
  const isolated = p.isolatedCpus.trim() !== "" || /\bisolcpus=/.test(p.kernelCmdline);
  out.push(
    check("isolated CPUs", isolated ? p.isolatedCpus || "isolcpus= on the command line" : "none", isolated, "add isolcpus=N-M nohz_full=N-M rcu_nocbs=N-M to GRUB_CMDLINE_LINUX, update-grub, reboot; set bench.pinning to those CPUs", {
      tuning: true,
      severity: tune,
    }),
  );
  const irqOk = !f.irqbalanceRunning && (p.irqAffinity.total === 0 || p.irqAffinity.spreadOverAll < p.irqAffinity.total || p.cpuCount === 1);
  out.push(
    check(
      "IRQ steering",
      `${f.irqbalanceRunning ? "irqbalance running; " : ""}${p.irqAffinity.spreadOverAll} of ${p.irqAffinity.total} IRQs on every CPU`,
      irqOk,
      "systemctl disable --now irqbalance; write the housekeeping CPUs to /proc/irq/*/smp_affinity_list",
      { tuning: true, severity: tune },
    ),
  );
  const perCpu = p.cpuCount > 0 ? f.load1 / p.cpuCount : f.load1;
  out.push(check("other load", `load ${f.load1.toFixed(2)} on ${p.cpuCount} CPU(s)`, perCpu < 0.25, "stop other work on this box while it benchmarks", { tuning: true, severity: tune }));
  out.push(check("clock source", f.clocksource ?? "unknown", f.clocksource === "tsc", "clocksource=tsc tsc=reliable on the kernel command line", { tuning: true, severity: tune }));
  out.push(check("machine", p.isVirtual ? "virtual machine" : "bare metal", !p.isVirtual, "benchmark on bare metal; a VM adds steal time and host noise", { tuning: true, severity: tune }));
  return out;
}

/** The box may not take jobs of a bench-grade pool (or any job, when something it needs is missing). */
export function doctorUnfit(checks: readonly DoctorCheck[]): boolean {
  return checks.some((c) => c.status === "fail");
}

/** Pure: the table `runner doctor` prints, fixes under their checks. */
export function formatDoctor(checks: readonly DoctorCheck[], requireTuned: boolean): string {
  const w = Math.max(...checks.map((c) => c.name.length));
  const lines = checks.flatMap((c) => [
    `${c.status.toUpperCase().padEnd(4)}  ${c.name.padEnd(w)}  ${c.seen}`,
    ...(c.fix ? [`      ${" ".repeat(w)}  fix: ${c.fix}`] : []),
  ]);
  const n = (s: DoctorCheck["status"]) => checks.filter((c) => c.status === s).length;
  const verdict = doctorUnfit(checks)
    ? `unfit${requireTuned ? " for a bench-grade pool (runner.requireTuned)" : ""}: fix the FAIL lines`
    : n("warn") > 0
      ? "usable; numbers are relative to this box only (the WARN lines are what a tuned lab box would fix)"
      : "fit for benchmarks";
  return `${lines.join("\n")}\n\n${n("ok")} ok, ${n("warn")} warn, ${n("fail")} fail: ${verdict}\n`;
}
