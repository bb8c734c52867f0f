import { z } from "zod";

/**
 * What a runner agent says about itself in Redis, every `runner.heartbeatSec`:
 * who it is, the machine it measures on, what it is doing. `patchbench
 * runners` reads these; nothing else trusts them (BullMQ's own locks decide
 * who owns a job, and re-run a stalled one elsewhere).
 */
export const runnerProfileSchema = z.object({
  cpuModel: z.string().nullable(),
  cpuCount: z.number().int(),
  numaNodes: z.number().int(),
  memoryMB: z.number().int().nullable(),
  kernelRelease: z.string(),
  governor: z.string(),
  smt: z.string(),
  turbo: z.string(),
  isolatedCpus: z.string(),
  /** IRQs allowed on only some CPUs, of all IRQs with an affinity. */
  irqsSteered: z.string(),
  isVirtual: z.boolean(),
  nics: z.array(z.object({ name: z.string(), driver: z.string().nullable() })),
  netperfVersion: z.string().nullable(),
});
export type RunnerProfile = z.infer<typeof runnerProfileSchema>;

export const runnerRecordSchema = z.object({
  id: z.string(),
  pool: z.string(),
  host: z.string(),
  pid: z.number().int(),
  version: z.string(),
  startedAt: z.string(),
  heartbeatAt: z.string(),
  heartbeatSec: z.number().int().min(1),
  /** Where its jobs boot kernels: the configured trees' boot targets. */
  bootTargets: z.array(z.string()),
  profile: runnerProfileSchema,
  /** `runner doctor` at start: counts by status; null when it was not run (a runner inside `patchbench start`). */
  doctor: z.object({ ok: z.number().int(), warn: z.number().int(), fail: z.number().int() }).nullable(),
  job: z.object({ id: z.string(), flowId: z.string(), stage: z.string(), startedAt: z.string() }).nullable(),
  /** "stopped" once it shut down cleanly; a runner that dies stays "running" and its heartbeat ages. */
  state: z.enum(["running", "stopped"]),
});
export type RunnerRecord = z.infer<typeof runnerRecordSchema>;

/** A heartbeat older than this many intervals means the runner is lost (BullMQ's stalled check takes its job back). */
export const LOST_AFTER_BEATS = 3;

export type RunnerState = "idle" | "busy" | "lost" | "stopped";

export interface RunnerRow {
  id: string;
  pool: string;
  host: string;
  state: RunnerState;
  /** Seconds since its last heartbeat. */
  seenSecAgo: number;
  job: RunnerRecord["job"];
  /** Seconds the current job has run (lost runners: until the last heartbeat). */
  jobSec: number | null;
  record: RunnerRecord;
}

/** Pure: the rows of `patchbench runners`, by pool then id; unreadable entries come back apart. */
export function runnerRows(entries: Record<string, string>, nowMs: number): { rows: RunnerRow[]; unreadable: string[] } {
  const rows: RunnerRow[] = [];
  const unreadable: string[] = [];
  for (const [id, json] of Object.entries(entries)) {
    let parsed: ReturnType<typeof runnerRecordSchema.safeParse>;
    try {
      parsed = runnerRecordSchema.safeParse(JSON.parse(json));
    } catch {
      unreadable.push(id);
      continue;
    }
    if (!parsed.success) {
      unreadable.push(id);
      continue;
    }
    const r = parsed.data;
    const beat = Date.parse(r.heartbeatAt);
    const seenSecAgo = Math.max(0, Math.round((nowMs - beat) / 1000));
    const lost = r.state === "running" && nowMs - beat > LOST_AFTER_BEATS * r.heartbeatSec * 1000;
    const state: RunnerState = r.state === "stopped" ? "stopped" : lost ? "lost" : r.job ? "busy" : "idle";
    const jobEnd = lost ? beat : nowMs;
    const jobSec = r.job ? Math.max(0, Math.round((jobEnd - Date.parse(r.job.startedAt)) / 1000)) : null;
    rows.push({ id: r.id, pool: r.pool, host: r.host, state, seenSecAgo, job: r.job, jobSec, record: r });
  }
  rows.sort((a, b) => a.pool.localeCompare(b.pool) || a.id.localeCompare(b.id));
  return { rows, unreadable: unreadable.sort() };
}

/** Pure: entries to forget: silent (stopped or lost) for longer than `keepSec`. Unreadable ones stay, listed as such. */
export function staleRunnerIds(entries: Record<string, string>, nowMs: number, keepSec: number): string[] {
  return Object.entries(entries).flatMap(([id, json]) => {
    try {
      const r = runnerRecordSchema.parse(JSON.parse(json));
      return nowMs - Date.parse(r.heartbeatAt) > keepSec * 1000 ? [id] : [];
    } catch {
      return [];
    }
  });
}
