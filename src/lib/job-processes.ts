import { AsyncLocalStorage } from "node:async_hooks";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { type ProcEntry, processStartTime, readProcessTable } from "./process-table.ts";

/**
 * The process groups a runner's jobs started, on disk, so that a runner
 * started after a kill -9 can kill what the dead one's jobs left running
 * (lib/exec spawns every child detached, in a group of its own, so nothing
 * takes them down with their runner) before it prunes their worktrees.
 * One file per runner process: <workDir>/process-groups/<pid>.json.
 */

const groupSchema = z.object({ pgid: z.number().int().positive(), startTime: z.number(), jobId: z.string() });
const recordSchema = z.object({ runnerPid: z.number().int().positive(), runnerStartTime: z.number().nullable(), groups: z.array(groupSchema) });
type Group = z.infer<typeof groupSchema>;
type RunnerRecord = z.infer<typeof recordSchema>;

export function processGroupsDir(workDir: string): string {
  return join(workDir, "process-groups");
}

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** The groups of one job, as lib/exec starts them (see `currentJobProcesses`). */
export interface JobProcesses {
  readonly jobId: string;
  add(pgid: number): void;
  /** SIGKILL every process still in this job's groups; returns their pids. */
  killAll(): number[];
}

/** This runner process's file: jobs add groups while they run and drop them when they end. */
export class RunnerProcessRecord {
  readonly path: string;
  private readonly record: RunnerRecord;

  constructor(workDir: string, pid = process.pid) {
    try {
      mkdirSync(processGroupsDir(workDir), { recursive: true });
    } catch {
      /* reported through lastError by the first save */
    }
    this.path = join(processGroupsDir(workDir), `${pid}.json`);
    this.record = { runnerPid: pid, runnerStartTime: processStartTime(pid), groups: [] };
    this.save();
  }

  /** Why the record could not be written last time (a full disk), or null: the runner keeps working either way. */
  lastError: string | null = null;

  private save(): void {
    try {
      writeAtomically(this.path, JSON.stringify(this.record));
      this.lastError = null;
    } catch (e) {
      this.lastError = (e as Error).message;
    }
  }

  /** A job's handle; `end()` kills what the job left running and forgets its groups. */
  begin(jobId: string): JobProcesses & { end(): number[] } {
    const add = (pgid: number) => {
      this.record.groups.push({ pgid, startTime: processStartTime(pgid) ?? 0, jobId });
      this.save();
    };
    const mine = () => this.record.groups.filter((g) => g.jobId === jobId);
    const killAll = () => killGroups(mine(), readProcessTable());
    return {
      jobId,
      add,
      killAll,
      end: () => {
        const killed = killAll();
        this.record.groups = this.record.groups.filter((g) => g.jobId !== jobId);
        this.save();
        return killed;
      },
    };
  }

  /** On a clean stop: nothing is left to clean up after this process. */
  close(): void {
    rmSync(this.path, { force: true });
  }
}

/**
 * Pure: the processes to kill for recorded groups. A group's members are
 * the processes whose pgrp is its id; the id cannot have been reused while
 * any member lives (Linux does not hand out a pid in use as a group id), and
 * a process now holding the leader's pid with another start time means the
 * group is long gone and the id reused: that group is left alone.
 */
export function membersOf(groups: readonly { pgid: number; startTime: number }[], table: readonly ProcEntry[]): number[] {
  const byPid = new Map(table.map((p) => [p.pid, p]));
  const out: number[] = [];
  for (const g of groups) {
    const leader = byPid.get(g.pgid);
    if (leader && g.startTime !== 0 && leader.startTime !== g.startTime) continue;
    for (const p of table) if (p.pgrp === g.pgid && p.pid !== process.pid) out.push(p.pid);
  }
  return [...new Set(out)];
}

function killGroups(groups: readonly Group[], table: readonly ProcEntry[]): number[] {
  const all: number[] = [];
  for (const g of groups) {
    const pids = membersOf([g], table);
    if (pids.length === 0) continue;
    try {
      process.kill(-g.pgid, "SIGKILL");
    } catch {
      /* gone meanwhile */
    }
    all.push(...pids);
  }
  return [...new Set(all)];
}

function runnerIsAlive(r: RunnerRecord): boolean {
  const start = processStartTime(r.runnerPid);
  return start !== null && (r.runnerStartTime === null || start === r.runnerStartTime);
}

/**
 * At runner start: for every record whose runner is dead, SIGKILL the
 * groups its jobs left, wait until they are gone, and drop the record.
 * Returns the pids killed. Unreadable records are removed (they name no
 * process safely).
 */
export async function killOrphanedJobProcesses(workDir: string, waitMs = 5000): Promise<{ runners: number[]; killed: number[] }> {
  const dir = processGroupsDir(workDir);
  const runners: number[] = [];
  const killed: number[] = [];
  if (!existsSync(dir)) return { runners, killed };
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(".json")) continue;
    const path = join(dir, name);
    let rec: RunnerRecord;
    try {
      rec = recordSchema.parse(JSON.parse(readFileSync(path, "utf8")));
    } catch {
      rmSync(path, { force: true });
      continue;
    }
    if (rec.runnerPid === process.pid || runnerIsAlive(rec)) continue;
    runners.push(rec.runnerPid);
    const pids = killGroups(rec.groups, readProcessTable());
    killed.push(...pids);
    const end = Date.now() + waitMs;
    while (pids.some((pid) => processStartTime(pid) !== null) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    rmSync(path, { force: true });
  }
  return { runners, killed };
}

const scope = new AsyncLocalStorage<JobProcesses>();

/** Run `fn` with every process lib/exec starts inside it recorded for this job. */
export function runWithJobProcesses<T>(job: JobProcesses, fn: () => Promise<T>): Promise<T> {
  return scope.run(job, fn);
}

/** The job whose code is running now (lib/exec records its groups there), if any. */
export function currentJobProcesses(): JobProcesses | undefined {
  return scope.getStore();
}
