import { readdirSync, readFileSync } from "node:fs";

/** One process as /proc tells it: its group and when it started (clock ticks since boot). */
export interface ProcEntry {
  pid: number;
  pgrp: number;
  startTime: number;
}

/** Pure: pid, process group and start time from a /proc/<pid>/stat line (comm may hold spaces and parens). */
export function parseProcStat(stat: string): ProcEntry | null {
  const close = stat.lastIndexOf(")");
  if (close < 0) return null;
  const pid = Number(stat.slice(0, stat.indexOf(" ")));
  // Fields after ")": state(3) ppid(4) pgrp(5) ... starttime(22); index 0 here is field 3.
  const f = stat.slice(close + 2).split(" ");
  const pgrp = Number(f[2]);
  const startTime = Number(f[19]);
  if (!Number.isInteger(pid) || !Number.isInteger(pgrp) || !Number.isFinite(startTime)) return null;
  return { pid, pgrp, startTime };
}

/** Every process of this machine (those that vanish while reading are skipped). */
export function readProcessTable(): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const e = parseProcStat(readFileSync(`/proc/${d}/stat`, "utf8"));
      if (e) out.push(e);
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** Start time of one process, or null when it does not exist. */
export function processStartTime(pid: number): number | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"))?.startTime ?? null;
  } catch {
    return null;
  }
}
