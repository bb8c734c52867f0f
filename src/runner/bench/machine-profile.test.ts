import assert from "node:assert/strict";
import { test } from "node:test";
import type { Exec } from "../../lib/exec.ts";
import {
  collectMachineProfile,
  type MachineProfile,
  parseCpuinfo,
  parseCpuList,
  parseNetperfVersion,
  summarizeIrqAffinity,
  tuningWarnings,
} from "./machine-profile.ts";

const fakeExec: Exec = async (argv) => ({
  argv,
  code: 0,
  signal: null,
  stdout: "\nNetperf version 2.7.0\n",
  stderr: "",
  stdoutBytes: Buffer.alloc(0),
  timedOut: false,
  durationMs: 1,
});

test("pure parsers", () => {
  const c = parseCpuinfo("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu vme hypervisor lahf_lm\n");
  assert.deepEqual(c, { model: "Intel(R) Xeon(R) Processor", hypervisor: true });
  assert.deepEqual(parseCpuList("0-3,8,10-11"), [0, 1, 2, 3, 8, 10, 11]);
  assert.deepEqual(parseCpuList(""), []);
  assert.equal(parseNetperfVersion("\nNetperf version 2.7.0\n"), "2.7.0");
  assert.equal(parseNetperfVersion("nope"), null);
  assert.deepEqual(summarizeIrqAffinity(["0-1", "0-1", "1", "0,1"], "0-1"), { total: 4, spreadOverAll: 3, byCpuList: { "0-1": 2, "1": 1, "0,1": 1 } });
});

test("a VM without cpufreq: governor unavailable, every LKP/tuned warning listed", async () => {
  const files: Record<string, string> = {
    "/proc/cpuinfo": "model name\t: Intel(R) Xeon(R) Processor\nflags\t: fpu hypervisor\n",
    "/sys/devices/system/cpu/online": "0-1\n",
    "/sys/devices/system/cpu/isolated": "\n",
    "/sys/devices/system/cpu/smt/control": "notsupported\n",
    "/proc/sys/kernel/osrelease": "6.18.44-fc\n",
    "/proc/cmdline": "console=ttyS0 quiet\n",
    "/proc/sys/net/core/busy_read": "0\n",
    "/proc/sys/net/ipv4/tcp_rmem": "4096\t131072\t33554432\n",
    "/proc/irq/24/smp_affinity_list": "0-1\n",
    "/proc/irq/26/smp_affinity_list": "1\n",
  };
  const p = await collectMachineProfile({
    exec: fakeExec,
    readText: (path) => files[path] ?? null,
    listDir: (path) => (path === "/proc/irq" ? ["24", "26", "default_smp_affinity"] : []),
  });
  assert.equal(p.governor, "unavailable");
  assert.equal(p.turbo, "unavailable");
  assert.equal(p.smt, "notsupported");
  assert.equal(p.smtActive, null);
  assert.equal(p.cpuCount, 2);
  assert.equal(p.isVirtual, true);
  assert.equal(p.kernelRelease, "6.18.44-fc");
  assert.equal(p.netperfVersion, "2.7.0");
  assert.equal(p.sysctls["net.ipv4.tcp_rmem"], "4096 131072 33554432");
  assert.equal(p.sysctls["net.core.busy_poll"], null);
  assert.deepEqual(p.irqAffinity, { total: 2, spreadOverAll: 1, byCpuList: { "0-1": 1, "1": 1 } });
  const w = tuningWarnings(p);
  assert.ok(w.some((x) => /governor unavailable/.test(x)));
  assert.ok(w.some((x) => /virtual machine/.test(x)));
  assert.ok(w.some((x) => /isolcpus/.test(x)));
  assert.ok(w.some((x) => /only 2 online CPUs/.test(x)));
  assert.ok(!w.some((x) => /SMT/.test(x)));
});

test("a tuned bare-metal box has no warnings; a default desktop has governor, SMT and turbo ones", () => {
  const tuned: MachineProfile = {
    cpuModel: "x",
    onlineCpus: "0-15",
    cpuCount: 16,
    isolatedCpus: "2-3",
    governor: "performance",
    smt: "off",
    smtActive: false,
    turbo: "off",
    kernelRelease: "6.18",
    kernelCmdline: "isolcpus=2-3",
    sysctls: { "net.core.busy_read": "0" },
    netperfVersion: "2.7.0",
    irqAffinity: { total: 0, spreadOverAll: 0, byCpuList: {} },
    isVirtual: false,
  };
  assert.deepEqual(tuningWarnings(tuned), []);
  const desktop = { ...tuned, governor: "powersave", smt: "on", smtActive: true, turbo: "on" as const, isolatedCpus: "", kernelCmdline: "" };
  assert.deepEqual(tuningWarnings(desktop), [
    "cpufreq governor is powersave, not performance",
    "SMT is on (sibling threads share a core)",
    "turbo/boost is on (clock varies with temperature and load)",
    "no isolated CPUs (isolcpus not set)",
  ]);
});
