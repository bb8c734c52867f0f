/**
 * What `npm run bench:scale` reads after a run: per-flow queue timings from
 * the BullMQ jobs themselves, the store's record of flows and reports (lost
 * or doubled), and the costs (process CPU, Redis memory, database size).
 */
import { readFileSync } from "node:fs";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { sql } from "kysely";
import type { Series } from "../src/domain/series.ts";
import { reportJobId, stageJobId } from "../src/queue/job-ids.ts";
import type { Db } from "../src/store/open-store.ts";

/** Nearest-rank percentile (p in 0..1) of unsorted samples; NaN when there are none. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
}

/** CPU seconds (user + system) a live process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start at state; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // The kernel counts in USER_HZ, 100 on every Linux this runs on.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Redis's own count of the memory it holds for data (INFO memory used_memory), in bytes. */
export async function redisUsedMemory(redis: Redis): Promise<number> {
  const info = await redis.info("memory");
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
}

/** Bytes Redis holds for the keys matching a pattern (SCAN, then MEMORY USAGE of each). */
export async function redisKeyBytes(redis: Redis, pattern: string): Promise<number> {
  let total = 0;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    for (const k of keys) total += Number((await redis.memory("USAGE", k, "SAMPLES", 0)) ?? 0);
  } while (cursor !== "0");
  return total;
}

/** The database's size on disk (pg_database_size), in bytes. */
export async function storeBytes(db: Db): Promise<number> {
  const r = await sql<{ size: string }>`select pg_database_size(current_database()) as size`.execute(db);
  return Number(r.rows[0]?.size ?? Number.NaN);
}

export interface FlowTimings {
  /** Stage became runnable (flow added, or the stage below it returned) → stage body started, one per stage job. */
  stagePickupMs: number[];
  /** Last stage returned → report job taken by an orchestrator, one per flow. */
  reportPickupMs: number[];
  /** Flow added → report job finished, less the time spent in stage bodies, one per flow. */
  overheadMs: number[];
  /** Flows whose jobs or results were not all found (counted, never guessed). */
  incomplete: number;
}

interface StandInResult {
  startedAt: string;
  endedAt: string;
}

/**
 * Read each flow's jobs back from Redis (completed jobs are kept a week, see
 * plan-flow.ts): the first stage's timestamp is when the flow was added, each
 * stage's result carries the marks the stand-in runner took around its body,
 * and the report job has BullMQ's processedOn/finishedOn.
 */
export async function readFlowTimings(o: { pool: Queue; orchestrator: Queue; flowIds: readonly string[]; stages: readonly string[] }): Promise<FlowTimings> {
  const t: FlowTimings = { stagePickupMs: [], reportPickupMs: [], overheadMs: [], incomplete: 0 };
  for (const flowId of o.flowIds) {
    const first = await o.pool.getJob(stageJobId(flowId, o.stages[0]!));
    const last = await o.pool.getJob(stageJobId(flowId, o.stages.at(-1)!));
    const report = await o.orchestrator.getJob(reportJobId(flowId));
    const results = (last?.returnvalue as { results?: StandInResult[] } | undefined)?.results ?? [];
    if (!first || !report?.processedOn || !report.finishedOn || results.length !== o.stages.length) {
      t.incomplete++;
      continue;
    }
    const marks = results.map((r) => ({ start: Date.parse(r.startedAt), end: Date.parse(r.endedAt) }));
    marks.forEach((m, i) => {
      t.stagePickupMs.push(m.start - (i === 0 ? first.timestamp : marks[i - 1]!.end));
    });
    t.reportPickupMs.push(report.processedOn - marks.at(-1)!.end);
    const inStages = marks.reduce((n, m) => n + (m.end - m.start), 0);
    t.overheadMs.push(report.finishedOn - first.timestamp - inStages);
  }
  return t;
}

export interface FlowCount {
  flowIds: string[];
  /** Injected series with no finished flow or no report. */
  lost: number;
  /** Injected series with more than one flow, or a flow with more than one report. */
  doubled: number;
  /** Reports recorded (one delivery row per report sent). */
  reports: number;
}

/** Match the store's flows and reports to the Message-IDs injected: each must have exactly one of each. */
export async function countFlows(db: Db, messageIds: readonly string[]): Promise<FlowCount> {
  // From the series themselves: a polled mail's raw_mails row is stored before its series exists, without a series id.
  const seriesOf = new Map<string, string>();
  for (const row of await db.selectFrom("series").select(["id", "data"]).execute()) {
    for (const p of (JSON.parse(row.data) as Series).patches) seriesOf.set(p.messageId.replace(/^<|>$/g, ""), row.id);
  }
  const flows = await db.selectFrom("flows").select(["id", "series_id", "finished_at"]).execute();
  const deliveries = await db.selectFrom("deliveries").select(["flow_id"]).execute();
  const reportsOf = new Map<string, number>();
  for (const d of deliveries) reportsOf.set(d.flow_id, (reportsOf.get(d.flow_id) ?? 0) + 1);
  const out: FlowCount = { flowIds: [], lost: 0, doubled: 0, reports: 0 };
  for (const id of messageIds) {
    const series = seriesOf.get(id.replace(/^<|>$/g, ""));
    const mine = series ? flows.filter((f) => f.series_id === series) : [];
    const finished = mine.filter((f) => f.finished_at !== null);
    const reports = mine.reduce((n, f) => n + (reportsOf.get(f.id) ?? 0), 0);
    if (finished.length === 0 || reports === 0) out.lost++;
    if (mine.length > 1 || reports > 1) out.doubled++;
    out.reports += reports;
    out.flowIds.push(...finished.map((f) => f.id));
  }
  return out;
}
