import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import type { VariantSetting } from "../../domain/bench.ts";
import { infraError, inputError } from "../../lib/errors.ts";
import { type Exec, exec as defaultExec } from "../../lib/exec.ts";
import type { Logger } from "../../lib/logger.ts";
import { isPidAlive } from "../../lib/is-pid-alive.ts";
import { listNetns } from "./topology.ts";

/**
 * Variant settings on the host: sysctls written straight to /proc/sys (no
 * shell, no sysctl binary on the host), each change journaled with its
 * original value BEFORE the write, so a crash never leaves the host changed
 * for longer than the next start (`restoreFromJournal`).
 *
 * Many net.* sysctls are per network namespace: inside our own namespaces the
 * value is also set (with `ip netns exec <ns> sysctl -w`, argv only) when the
 * key exists there; a key that is absent there is global and the host write
 * covers it.
 */

/** Keys patchbench may change. Anything else is refused. */
export const SYSCTL_ALLOWLIST: readonly RegExp[] = [
  /^net\.core\.busy_(read|poll)$/,
  /^net\.core\.[a-z_]*mem[a-z_]*$/,
  /^net\.core\.(netdev_budget|netdev_budget_usecs|netdev_max_backlog|dev_weight|somaxconn|gro_normal_batch)$/,
  /^net\.ipv4\.tcp_[a-z0-9_]+$/,
  /^net\.ipv4\.udp_(mem|rmem_min|wmem_min)$/,
];

const KEY_RE = /^[a-z0-9_]+(\.[a-z0-9_]+)+$/;
const VALUE_RE = /^\d+([ \t]+\d+)*$/;

export interface SysctlAssignment {
  key: string;
  value: string;
}

export function isAllowedSysctl(key: string): boolean {
  return KEY_RE.test(key) && SYSCTL_ALLOWLIST.some((re) => re.test(key));
}

/** Throws an input error naming the problem; returns the normalised value. */
export function validateSysctl(key: string, value: string): string {
  if (!isAllowedSysctl(key)) {
    throw inputError(
      `sysctl ${JSON.stringify(key)} is not allowed`,
      "allowed: net.core.busy_read/busy_poll, net.core.*mem*, net.core netdev budget/backlog/somaxconn, net.ipv4.tcp_*, net.ipv4.udp_mem/rmem_min/wmem_min",
    );
  }
  const v = value.trim();
  if (v.length > 64 || !VALUE_RE.test(v)) {
    throw inputError(`sysctl ${key}: value ${JSON.stringify(value)} must be digits or space-separated digits`);
  }
  return v.split(/[ \t]+/).join(" ");
}

/**
 * Pure planner: the sysctl writes a variant needs, validated. Kernel settings are not ours to
 * run; socket options and BPF attachments are planned by variant-plan.ts.
 */
export function planSettings(settings: readonly VariantSetting[]): SysctlAssignment[] {
  const out = new Map<string, string>();
  for (const s of settings) {
    if (s.kind === "kernel") throw inputError(`setting kind kernel (ref ${s.ref}) cannot be applied by the bench runner: kernel variants need a boot`);
    if (s.kind !== "sysctl") continue;
    out.set(s.key, validateSysctl(s.key, s.value));
  }
  return [...out].map(([key, value]) => ({ key, value }));
}

export function sysctlPath(key: string, procSys = "/proc/sys"): string {
  if (!KEY_RE.test(key)) throw inputError(`bad sysctl key ${JSON.stringify(key)}`);
  return join(procSys, ...key.split("."));
}

export interface JournalEntry {
  key: string;
  /** null = the host; else one of our namespaces. */
  netns: string | null;
  original: string;
  applied: string;
  at: string;
}

export interface Journal {
  version: 1;
  ownerPid: number;
  entries: JournalEntry[];
}

export interface HostSettingsDeps {
  exec?: Exec;
  log?: Logger;
  /** Root of the sysctl tree (tests may point it at a temp folder). Default /proc/sys. */
  procSys?: string;
}

function readJournal(path: string): Journal | null {
  if (!existsSync(path)) return null;
  const raw = readFileSync(path, "utf8");
  let j: unknown;
  try {
    j = JSON.parse(raw);
  } catch (err) {
    throw infraError(`sysctl journal ${path} is not JSON; restore by hand and delete it`, undefined, err);
  }
  const o = j as Partial<Journal>;
  if (o.version !== 1 || typeof o.ownerPid !== "number" || !Array.isArray(o.entries)) {
    throw infraError(`sysctl journal ${path} has an unknown shape; restore by hand and delete it`);
  }
  return o as Journal;
}

/** Write-then-rename with fsync: the journal is on disk before the sysctl changes. */
function writeJournal(path: string, j: Journal): void {
  const tmp = join(dirname(path), `.${process.pid}.${Date.now()}.journal.tmp`);
  writeFileSync(tmp, `${JSON.stringify(j, null, 2)}\n`);
  const fd = openSync(tmp, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dfd = openSync(dirname(path), "r");
  try {
    fsyncSync(dfd);
  } catch {
    /* some filesystems refuse fsync on a directory */
  } finally {
    closeSync(dfd);
  }
}

const normalise = (v: string) => v.trim().split(/\s+/).join(" ");

async function readSysctl(key: string, netns: string | null, deps: HostSettingsDeps): Promise<string | null> {
  if (netns === null) {
    try {
      return normalise(readFileSync(sysctlPath(key, deps.procSys), "utf8"));
    } catch (err) {
      throw infraError(`cannot read sysctl ${key}: ${(err as Error).message}`);
    }
  }
  const run = deps.exec ?? defaultExec;
  const r = await run(["ip", "netns", "exec", netns, "sysctl", "-n", key], { okCodes: "any", timeoutMs: 10_000 });
  return r.code === 0 ? normalise(r.stdout) : null;
}

async function writeSysctl(key: string, value: string, netns: string | null, deps: HostSettingsDeps): Promise<void> {
  if (netns === null) {
    const fd = openSync(sysctlPath(key, deps.procSys), "w");
    try {
      writeSync(fd, value);
    } catch (err) {
      throw infraError(`cannot write sysctl ${key}=${value}: ${(err as Error).message}`);
    } finally {
      closeSync(fd);
    }
    return;
  }
  const run = deps.exec ?? defaultExec;
  await run(["ip", "netns", "exec", netns, "sysctl", "-q", "-w", `${key}=${value}`], { timeoutMs: 10_000 });
}

/**
 * Apply sysctls on the host (and in `namespaces` where the key is per-namespace).
 * Each original value is journaled before its write; a key already journaled
 * keeps its first original, so applying twice never loses the real baseline.
 */
export async function applySettings(
  assignments: readonly SysctlAssignment[],
  options: { journalPath: string; namespaces?: readonly string[] },
  deps: HostSettingsDeps = {},
): Promise<JournalEntry[]> {
  const journal = readJournal(options.journalPath) ?? { version: 1, ownerPid: process.pid, entries: [] };
  if (journal.ownerPid !== process.pid && isPidAlive(journal.ownerPid)) {
    throw infraError(`sysctl journal ${options.journalPath} belongs to live process ${journal.ownerPid}`, "another benchmark is running on this host");
  }
  journal.ownerPid = process.pid;
  const changed: JournalEntry[] = [];
  for (const a of assignments) {
    const value = validateSysctl(a.key, a.value);
    for (const netns of [null, ...(options.namespaces ?? [])]) {
      const original = await readSysctl(a.key, netns, deps);
      if (original === null) continue; // global key: not present inside a namespace
      const entry: JournalEntry = { key: a.key, netns, original, applied: value, at: new Date().toISOString() };
      const known = journal.entries.find((e) => e.key === a.key && e.netns === netns);
      if (known) known.applied = value;
      else journal.entries.push(entry);
      writeJournal(options.journalPath, journal);
      await writeSysctl(a.key, value, netns, deps);
      const now = await readSysctl(a.key, netns, deps);
      if (now !== value) throw infraError(`sysctl ${a.key}${netns ? ` in ${netns}` : ""} reads ${now} after writing ${value}`);
      changed.push(entry);
      deps.log?.debug({ key: a.key, netns, original, value }, "sysctl set");
    }
  }
  return changed;
}

export interface RestoreResult {
  restored: JournalEntry[];
  /** Entries for namespaces that no longer exist (nothing to restore). */
  skipped: JournalEntry[];
  problems: string[];
}

/**
 * Put back every original value recorded in the journal (newest first) and
 * delete it. Used after each variant and on start-up after a crash. A journal
 * owned by another live process is left alone (error). Entries that fail stay
 * in the journal for the next attempt.
 */
export async function restoreFromJournal(journalPath: string, deps: HostSettingsDeps = {}): Promise<RestoreResult> {
  const result: RestoreResult = { restored: [], skipped: [], problems: [] };
  const journal = readJournal(journalPath);
  if (!journal) return result;
  if (journal.ownerPid !== process.pid && isPidAlive(journal.ownerPid)) {
    throw infraError(`sysctl journal ${journalPath} belongs to live process ${journal.ownerPid}; not restoring under it`);
  }
  const needNs = journal.entries.some((e) => e.netns !== null);
  const existingNs = needNs ? new Set(await listNetns(deps.exec ? { exec: deps.exec } : {})) : new Set<string>();
  const left: JournalEntry[] = [];
  for (const e of [...journal.entries].reverse()) {
    if (e.netns !== null && !existingNs.has(e.netns)) {
      result.skipped.push(e);
      continue;
    }
    try {
      if (!VALUE_RE.test(e.original)) throw inputError(`journaled original ${JSON.stringify(e.original)} is not digits`);
      await writeSysctl(e.key, e.original, e.netns, deps);
      result.restored.push(e);
      deps.log?.debug({ key: e.key, netns: e.netns, value: e.original }, "sysctl restored");
    } catch (err) {
      left.unshift(e);
      result.problems.push(`restore ${e.key}${e.netns ? ` in ${e.netns}` : ""}=${e.original}: ${(err as Error).message}`);
    }
  }
  if (left.length === 0) rmSync(journalPath, { force: true });
  else writeJournal(journalPath, { ...journal, ownerPid: process.pid, entries: left });
  if (result.restored.length > 0) deps.log?.debug({ restored: result.restored.length, journalPath }, "sysctls restored from journal");
  return result;
}

/**
 * Last resort at process exit (a cleanup cut short by a second signal or the
 * grace period): put back the host-namespace entries of this process's own
 * journal, synchronously, since nothing asynchronous runs in an exit hook.
 * Entries inside our namespaces stay journaled for the next start, which
 * removes those namespaces anyway. Never throws.
 */
export function restoreHostEntriesSync(journalPath: string, deps: Pick<HostSettingsDeps, "procSys"> = {}): JournalEntry[] {
  const restored: JournalEntry[] = [];
  try {
    const journal = readJournal(journalPath);
    if (!journal || journal.ownerPid !== process.pid) return restored;
    const left: JournalEntry[] = [];
    for (const e of [...journal.entries].reverse()) {
      if (e.netns !== null || !VALUE_RE.test(e.original)) {
        left.unshift(e);
        continue;
      }
      try {
        writeFileSync(sysctlPath(e.key, deps.procSys), e.original);
        restored.push(e);
      } catch {
        left.unshift(e);
      }
    }
    if (left.length === 0) rmSync(journalPath, { force: true });
    else if (restored.length > 0) writeJournal(journalPath, { ...journal, entries: left });
  } catch {
    /* an unreadable journal is left for the next start's restore, which reports it */
  }
  return restored;
}
