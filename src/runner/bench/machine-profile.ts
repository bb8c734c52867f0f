import { readdirSync, readFileSync } from "node:fs";
import { release } from "node:os";
import { type Exec, exec as defaultExec } from "../../lib/exec.ts";

/**
 * What the benchmark host looked like, for the report: the things Intel LKP and
 * tuned fix before measuring (governor, SMT, turbo, isolation), so a reader can
 * judge how much the numbers are worth. Reading is I/O; parsing and
 * `tuningWarnings` are pure.
 */

export interface IrqAffinitySummary {
  /** IRQs with an affinity file. */
  total: number;
  /** IRQs allowed on every online CPU (not steered). */
  spreadOverAll: number;
  /** IRQs per allowed CPU list, e.g. { "0-1": 12, "1": 2 }. */
  byCpuList: Record<string, number>;
}

export interface MachineProfile {
  cpuModel: string | null;
  onlineCpus: string;
  cpuCount: number;
  isolatedCpus: string;
  /** scaling_governor of the online CPUs (distinct values joined), or "unavailable" without cpufreq. */
  governor: string;
  /** /sys/devices/system/cpu/smt/control: on | off | forceoff | notsupported | notimplemented | unavailable. */
  smt: string;
  smtActive: boolean | null;
  turbo: "on" | "off" | "unavailable";
  kernelRelease: string;
  kernelCmdline: string;
  sysctls: Record<string, string | null>;
  netperfVersion: string | null;
  irqAffinity: IrqAffinitySummary;
  isVirtual: boolean;
}

/** Sysctls that move netperf numbers. */
export const PROFILE_SYSCTLS = [
  "net.core.busy_read",
  "net.core.busy_poll",
  "net.core.rmem_max",
  "net.core.wmem_max",
  "net.core.netdev_budget",
  "net.core.netdev_max_backlog",
  "net.ipv4.tcp_rmem",
  "net.ipv4.tcp_wmem",
  "net.ipv4.tcp_congestion_control",
  "net.ipv4.tcp_autocorking",
  "kernel.numa_balancing",
  "kernel.sched_autogroup_enabled",
] as const;

// Pure parts: parsing what the machine reports.

export function parseCpuinfo(text: string): { model: string | null; hypervisor: boolean } {
  const model = /^model name\s*:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? /^cpu model\s*:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? null;
  const flags = /^flags\s*:\s*(.+)$/m.exec(text)?.[1]?.split(/\s+/) ?? [];
  return { model, hypervisor: flags.includes("hypervisor") };
}

/** "0-3,8,10-11" → [0,1,2,3,8,10,11]. */
export function parseCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.trim().split(",")) {
    if (part === "") continue;
    const [a, b] = part.split("-");
    const lo = Number(a);
    const hi = b === undefined ? lo : Number(b);
    if (!Number.isInteger(lo) || !Number.isInteger(hi)) continue;
    for (let i = lo; i <= hi; i++) out.push(i);
  }
  return out;
}

export function summarizeIrqAffinity(lists: readonly string[], onlineCpus: string): IrqAffinitySummary {
  const online = parseCpuList(onlineCpus).join(",");
  const byCpuList: Record<string, number> = {};
  let spreadOverAll = 0;
  for (const l of lists) {
    const key = l.trim();
    byCpuList[key] = (byCpuList[key] ?? 0) + 1;
    if (parseCpuList(key).join(",") === online) spreadOverAll++;
  }
  return { total: lists.length, spreadOverAll, byCpuList };
}

export function parseNetperfVersion(stdout: string): string | null {
  return /Netperf version\s+(\S+)/i.exec(stdout)?.[1] ?? null;
}

/** What LKP/tuned would fix before trusting numbers from this host. */
export function tuningWarnings(p: MachineProfile): string[] {
  const w: string[] = [];
  if (p.governor === "unavailable") w.push("cpufreq governor unavailable (no cpufreq driver: frequency is not under our control)");
  else if (p.governor !== "performance") w.push(`cpufreq governor is ${p.governor}, not performance`);
  if (p.smt === "on" || p.smtActive === true) w.push("SMT is on (sibling threads share a core)");
  if (p.turbo === "on") w.push("turbo/boost is on (clock varies with temperature and load)");
  if (p.isVirtual) w.push("running in a virtual machine (steal time and host noise)");
  if (p.isolatedCpus.trim() === "" && !/\bisolcpus=/.test(p.kernelCmdline)) w.push("no isolated CPUs (isolcpus not set)");
  if (p.cpuCount < 4) w.push(`only ${p.cpuCount} online CPUs: netperf, netserver and the kernel share them`);
  const busy = p.sysctls["net.core.busy_read"];
  if (busy !== undefined && busy !== null && busy !== "0") w.push(`net.core.busy_read is ${busy} at baseline`);
  return w;
}

// Reading the machine.

export interface MachineProfileDeps {
  exec?: Exec;
  /** Read a text file; null when absent. Tests substitute a fake /proc and /sys. */
  readText?: (path: string) => string | null;
  listDir?: (path: string) => string[];
}

function defaultReadText(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

function defaultListDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

export async function collectMachineProfile(deps: MachineProfileDeps = {}): Promise<MachineProfile> {
  const read = deps.readText ?? defaultReadText;
  const list = deps.listDir ?? defaultListDir;
  const run = deps.exec ?? defaultExec;
  const t = (p: string) => read(p)?.trim() ?? null;
  const cpu = parseCpuinfo(read("/proc/cpuinfo") ?? "");
  const onlineCpus = t("/sys/devices/system/cpu/online") ?? "0";
  const cpus = parseCpuList(onlineCpus);
  const governors = new Set<string>();
  for (const c of cpus) {
    const g = t(`/sys/devices/system/cpu/cpu${c}/cpufreq/scaling_governor`);
    if (g) governors.add(g);
  }
  const noTurbo = t("/sys/devices/system/cpu/intel_pstate/no_turbo");
  const boost = t("/sys/devices/system/cpu/cpufreq/boost");
  const turbo = noTurbo !== null ? (noTurbo === "1" ? "off" : "on") : boost !== null ? (boost === "1" ? "on" : "off") : "unavailable";
  const smtActive = t("/sys/devices/system/cpu/smt/active");
  const sysctls: Record<string, string | null> = {};
  for (const k of PROFILE_SYSCTLS) {
    const v = t(`/proc/sys/${k.split(".").join("/")}`);
    sysctls[k] = v === null ? null : v.split(/\s+/).join(" ");
  }
  let netperfVersion: string | null = null;
  try {
    const r = await run(["netperf", "-V"], { okCodes: "any", timeoutMs: 10_000 });
    netperfVersion = parseNetperfVersion(r.stdout + r.stderr);
  } catch {
    netperfVersion = null;
  }
  const irqLists: string[] = [];
  for (const d of list("/proc/irq")) {
    if (!/^\d+$/.test(d)) continue;
    const l = t(`/proc/irq/${d}/smp_affinity_list`);
    if (l !== null) irqLists.push(l);
  }
  return {
    cpuModel: cpu.model,
    onlineCpus,
    cpuCount: cpus.length,
    isolatedCpus: t("/sys/devices/system/cpu/isolated") ?? "",
    governor: governors.size > 0 ? [...governors].sort().join(",") : "unavailable",
    smt: t("/sys/devices/system/cpu/smt/control") ?? "unavailable",
    smtActive: smtActive === null ? null : smtActive === "1",
    turbo,
    kernelRelease: t("/proc/sys/kernel/osrelease") ?? release(),
    kernelCmdline: t("/proc/cmdline") ?? "",
    sysctls,
    netperfVersion,
    irqAffinity: summarizeIrqAffinity(irqLists, onlineCpus),
    isVirtual: cpu.hypervisor || t("/sys/hypervisor/type") !== null,
  };
}
