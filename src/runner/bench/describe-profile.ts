import type { MachineProfile } from "./machine-profile.ts";

/** What a guest reports about itself: the profile sysctls (null when absent) and its cmdline. */
export interface GuestProfile {
  side: string;
  sysctls: Record<string, string | null>;
  cmdline: string;
}

const shortCmdline = (c: string) => (c.length > 200 ? `${c.slice(0, 200)}...` : c);
const sysctlLine = (s: Record<string, string | null>) =>
  Object.entries(s)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${String(v).replace(/\s+/g, " ")}`)
    .join(", ");

/** The machine profile as short "name: value" lines for reports (full profile stays in the result). */
export function describeProfile(p: MachineProfile, peerKernel: string | null = null): Record<string, string> {
  return {
    cpu: `${p.cpuModel ?? "unknown"}, ${p.cpuCount} online (${p.onlineCpus})${p.isVirtual ? ", virtual machine" : ""}`,
    // With a remote peer the two ends of the wire run different kernels: both are stated.
    ...(peerKernel === null ? { kernel: p.kernelRelease } : { kernel: `${p.kernelRelease} (runner)`, "peer kernel": `${peerKernel} (remote peer, netserver)` }),
    "governor/SMT/turbo": `${p.governor} / ${p.smt} / ${p.turbo}`,
    isolcpus: p.isolatedCpus || "none",
    irqs: `${p.irqAffinity.total} IRQs, ${p.irqAffinity.spreadOverAll} spread over all CPUs`,
    netperf: p.netperfVersion ?? "unknown",
    sysctls: sysctlLine(p.sysctls),
    cmdline: shortCmdline(p.kernelCmdline),
  };
}

/**
 * The profile of a kernel A/B: CPU, governor and IRQs are the runner host's (QEMU's threads run
 * there), while sysctls and the command line are read inside the guests — the kernels measured.
 * Sides that agree share one line; sides that differ are each named.
 */
export function describeKernelProfile(host: MachineProfile, kernel: string, guests: readonly GuestProfile[]): Record<string, string> {
  const p = describeProfile(host);
  const perSide = (f: (g: GuestProfile) => string): string => {
    const values = guests.map(f);
    return new Set(values).size <= 1 ? (values[0] ?? "") : guests.map((g, i) => `${g.side}: ${values[i]}`).join("; ");
  };
  return {
    cpu: `${p.cpu} (runner host)`,
    kernel,
    "governor/SMT/turbo": `${p["governor/SMT/turbo"]} (runner host)`,
    isolcpus: `${p.isolcpus} (runner host)`,
    netperf: p.netperf!,
    "guest sysctls": perSide((g) => sysctlLine(g.sysctls)),
    "guest cmdline": perSide((g) => shortCmdline(g.cmdline)),
  };
}
