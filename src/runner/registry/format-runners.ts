import type { RunnerRow } from "./runner-record.ts";

/** Pure: seconds as a short age ("42s", "3m05s", "2h10m", "3d4h"). */
export function shortAge(sec: number): string {
  if (sec < 60) return `${sec}s`;
  if (sec < 3600) return `${Math.floor(sec / 60)}m${String(sec % 60).padStart(2, "0")}s`;
  if (sec < 86400) return `${Math.floor(sec / 3600)}h${String(Math.floor((sec % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(sec / 86400)}d${Math.floor((sec % 86400) / 3600)}h`;
}

/** Pure: one line about the machine, what a maintainer checks before trusting its numbers. */
export function profileLine(row: RunnerRow): string {
  const p = row.record.profile;
  const parts = [
    p.cpuModel ?? "unknown CPU",
    `${p.cpuCount} CPU${p.cpuCount === 1 ? "" : "s"}${p.numaNodes > 1 ? ` on ${p.numaNodes} NUMA nodes` : ""}`,
    p.memoryMB === null ? null : `${Math.round(p.memoryMB / 1024)} GB`,
    p.isVirtual ? "virtual machine" : "bare metal",
    `kernel ${p.kernelRelease}`,
    `governor ${p.governor}, SMT ${p.smt}, turbo ${p.turbo}`,
    p.isolatedCpus ? `isolcpus ${p.isolatedCpus}` : "no isolated CPUs",
    `IRQs steered ${p.irqsSteered}`,
    p.nics.length ? `NICs ${p.nics.map((n) => `${n.name}${n.driver ? ` (${n.driver})` : ""}`).join(", ")}` : "no NICs",
    `netperf ${p.netperfVersion ?? "missing"}`,
  ];
  return parts.filter((x): x is string => x !== null).join("; ");
}

function doctorWord(row: RunnerRow): string {
  const d = row.record.doctor;
  if (!d) return "doctor not run";
  return d.fail > 0 ? `doctor: ${d.fail} FAIL, ${d.warn} warn` : d.warn > 0 ? `doctor: ${d.warn} warn` : "doctor: ok";
}

/** Pure: `patchbench runners` as text: a table, then each runner's machine and doctor line. */
export function formatRunners(rows: readonly RunnerRow[], unreadable: readonly string[]): string {
  if (rows.length === 0 && unreadable.length === 0) return "no runner has registered on this Redis (start one: patchbench runner --pool NAME)\n";
  const table = [
    ["RUNNER", "POOL", "STATE", "SEEN", "JOB", "FOR"],
    ...rows.map((r) => [
      r.id,
      r.pool,
      r.state,
      `${shortAge(r.seenSecAgo)} ago`,
      r.job ? r.job.id : "-",
      r.jobSec === null ? "-" : shortAge(r.jobSec),
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((l) => l[i]!.length)));
  const lines = table.map((l) => l.map((c, i) => (i === l.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd());
  const details = rows.flatMap((r) => [`${r.id}: ${profileLine(r)}`, `  boot: ${r.record.bootTargets.join(", ") || "none"}; ${doctorWord(r)}; patchbench ${r.record.version}, up since ${r.record.startedAt}`]);
  const lost = rows.filter((r) => r.state === "lost");
  const notes = [
    ...(lost.length ? [`lost: no heartbeat for 3 intervals; BullMQ gives a lost runner's job to another runner of its pool once its lock expires`] : []),
    ...unreadable.map((id) => `unreadable entry ${id} (another patchbench version?)`),
  ];
  return `${[...lines, "", ...details, ...(notes.length ? ["", ...notes] : [])].join("\n")}\n`;
}
