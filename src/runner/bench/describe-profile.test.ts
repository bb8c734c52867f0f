import assert from "node:assert/strict";
import { test } from "node:test";
import { describeKernelProfile, describeProfile } from "./describe-profile.ts";
import type { MachineProfile } from "./machine-profile.ts";

const host: MachineProfile = {
  cpuModel: "AMD EPYC",
  onlineCpus: "0-1",
  cpuCount: 2,
  isolatedCpus: "",
  governor: "unavailable",
  smt: "notsupported",
  smtActive: null,
  turbo: "unavailable",
  kernelRelease: "6.1.0-host",
  kernelCmdline: "console=ttyS0 mitigations=auto",
  sysctls: { "net.core.busy_read": "0", "net.ipv4.tcp_congestion_control": "bbr", "kernel.numa_balancing": null },
  netperfVersion: "2.7.0",
  irqAffinity: { total: 19, spreadOverAll: 19, byCpuList: { "0-1": 19 } },
  isVirtual: true,
};

test("the host profile: one line per field, absent sysctls left out", () => {
  const p = describeProfile(host);
  assert.equal(p.sysctls, "net.core.busy_read=0, net.ipv4.tcp_congestion_control=bbr");
  assert.equal(p.cmdline, "console=ttyS0 mitigations=auto");
  assert.equal(p.cpu, "AMD EPYC, 2 online (0-1), virtual machine");
});

test("kernel A/B: sysctls and cmdline come from the guests, never the host; equal sides share a line", () => {
  const guest = (side: string, cc: string) => ({ side, sysctls: { "net.core.busy_read": "0", "net.ipv4.tcp_congestion_control": cc, "kernel.numa_balancing": null }, cmdline: "console=hvc0 root=/dev/root rootfstype=9p" });
  const same = describeKernelProfile(host, "base: 6.1.192+; candidate: 6.1.192+", [guest("base", "cubic"), guest("candidate", "cubic")]);
  assert.equal(same["guest sysctls"], "net.core.busy_read=0, net.ipv4.tcp_congestion_control=cubic");
  assert.equal(same["guest cmdline"], "console=hvc0 root=/dev/root rootfstype=9p");
  assert.equal(same.kernel, "base: 6.1.192+; candidate: 6.1.192+");
  assert.match(same.cpu!, /\(runner host\)$/);
  assert.ok(!Object.values(same).some((v) => v.includes("bbr") || v.includes("mitigations")), "no host sysctl or cmdline");
  const differ = describeKernelProfile(host, "k", [guest("base", "cubic"), guest("candidate", "reno")]);
  assert.equal(differ["guest sysctls"], "base: net.core.busy_read=0, net.ipv4.tcp_congestion_control=cubic; candidate: net.core.busy_read=0, net.ipv4.tcp_congestion_control=reno");
});
