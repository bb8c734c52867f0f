import assert from "node:assert/strict";
import { test } from "node:test";
import { golden } from "../../../test/helpers/golden.ts";
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

test("remote topology: both ends' kernels, the runner's and the peer's, as the Machine section shows them", () => {
  const p = describeProfile(host, "6.12.9-peer");
  assert.equal(p.kernel, "6.1.0-host (runner)");
  assert.equal(p["peer kernel"], "6.12.9-peer (remote peer, netserver)");
  golden("machine-remote-peer.txt", `Machine:\n${Object.entries(p).map(([k, v]) => `  ${k}: ${v}\n`).join("")}`);
  assert.equal(describeProfile(host).kernel, "6.1.0-host", "without a peer: one kernel, unqualified");
  assert.equal(describeProfile(host)["peer kernel"], undefined);
});
