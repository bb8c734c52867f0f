import { setTimeout as sleep } from "node:timers/promises";
import { BENCH_TESTS, type BenchSample, type Cell, cellKey, TOPOLOGIES, type Topology, type Variant } from "../../domain/bench.ts";
import { infraError, inputError } from "../../lib/errors.ts";
import { type Exec, type ExecResult, exec as defaultExec } from "../../lib/exec.ts";
import type { Logger } from "../../lib/logger.ts";
import { existsSync } from "node:fs";
import {
  type AttachedSockops,
  type AttachedTc,
  attachSockops,
  attachTcEgress,
  type BenchCgroup,
  cleanupStaleBpf,
  createBenchCgroup,
  detachSockops,
  detachTcEgress,
  inCgroupArgv,
  moveToCgroup,
  removeBenchCgroup,
} from "./bpf-attach.ts";
import { applySettings, restoreFromJournal } from "./host-settings.ts";
import { collectMachineProfile, type MachineProfile } from "./machine-profile.ts";
import { buildNetperfArgv, keysForTest } from "./netperf-command.ts";
import { type NetserverDeps, type NetserverHandle, type NetserverOptions, startNetserver } from "./netserver.ts";
import { checkNetperfRun } from "./parse-netperf.ts";
import { readRetransSegs, retransmitProblem } from "./tcp-retransmits.ts";
import { acquireHostLock } from "../../lib/host-lock.ts";
import { cleanupStale, DEFAULT_PREFIX, newRunId, setupTopology, type TopologyHandle, teardownTopology } from "./topology.ts";
import { planVariant, type VariantPlan } from "./variant-plan.ts";

/**
 * One A/B benchmark on one kernel: variants differ by sysctls, netperf socket
 * options, a cgroup sock_ops program or a tc-BPF egress program. The design
 * follows ../shared/design/STATISTICS.md: rounds interleave A and B (ABBA or
 * ABAB), cell order is shuffled per round with one seed for both sides, each
 * side settles, runs one discarded warm-up per cell and then the measured runs.
 */

export interface BenchPlan {
  cells: Cell[];
  /** [A = baseline, B = candidate]; settings are sysctls (kernel variants are booted elsewhere). */
  variants: [Variant, Variant];
  /** Rounds to run at least; each round runs A and B once. */
  rounds: number;
  runsPerRound: number;
  durationSec: number;
  warmup: boolean;
  /** ABBA: A B | B A | A B …; ABAB: A B | A B | … */
  design: "ABBA" | "ABAB";
  seed: number;
  /** netperf -T local,remote; null = unpinned. */
  pinning: { local: number; remote: number } | null;
  /** Cap for adaptive extension by `decide` (default: rounds, i.e. no extension). */
  maxRounds?: number;
  /**
   * "side" (default): a round's A slot runs every cell, then its B slot (needed when switching
   * is a boot). "cell": each cell runs its A and B back to back, switching the variant per cell
   * — for cheap switches (sysctl, BPF attach) this keeps the two halves of a pair seconds apart,
   * so session drift cancels within the pair (STATISTICS.md; ABAB is only safe this way).
   */
  pairing?: "side" | "cell";
  /** "all" (default): a discarded warm-up per cell in every round; "first": only in round 0. */
  warmupRounds?: "all" | "first";
  /**
   * Pairing "cell" only: when a run of a pair failed a quality gate or fell into the slow mode
   * (below 60% of the median of that cell and variant so far), measure the whole pair again, up
   * to this many times per cell and round; the replaced runs stay in the samples, marked
   * `superseded`. The check is the same for A and B, so it does not favour either. Default 0.
   */
  repairPairs?: number;
}

/** A run below this fraction of its cell and variant's median so far is in the slow mode (as in the analysis). */
const SLOW_MODE_RATIO = 0.6;

export type Decision = "stop" | "continue";

export interface BenchDeps {
  exec?: Exec;
  log: Logger;
  onSample?: (s: BenchSample) => void;
  signal?: AbortSignal;
  /** Sysctl journal (originals recorded before each change; restored on the next start after a crash). */
  journalPath: string;
  /**
   * Adaptive hook: called after each pair of rounds once `rounds` is reached
   * (rounds, rounds+2, …) while below `maxRounds`; "continue" runs two more rounds.
   */
  decide?: (samples: readonly BenchSample[]) => Decision | Promise<Decision>;
  /** Refuse plans whose estimated wall time (at maxRounds) exceeds this. */
  budgetSec?: number;
  /** Pause after applying a variant's settings. Default 2000 ms. */
  settleMs?: number;
  /** Length of the discarded warm-up run. Default: durationSec. */
  warmupSec?: number;
  /** Namespace prefix. Default "pb". */
  prefix?: string;
  /** Root of the sysctl tree. Default /proc/sys. */
  procSys?: string;
  /** Substitutes for tests. */
  collectProfile?: () => Promise<MachineProfile>;
  startNetserver?: (options: NetserverOptions, deps: NetserverDeps) => Promise<NetserverHandle>;
  /** TCP RetransSegs of a namespace (null = host). Default: /proc/net/snmp. */
  readRetransmits?: (netns: string | null) => Promise<number | null>;
  now?: () => Date;
}

export interface BenchResult {
  samples: BenchSample[];
  profile: MachineProfile;
  /** Everything that went wrong or was repaired, in words, for the report. */
  problems: string[];
  aborted: boolean;
}

/** Per-run overhead on top of -l (process start, control connection, teardown). */
const RUN_OVERHEAD_SEC = 0.3;
const MAX_SIZE = 1 << 20;

// ---- pure parts ----

/** Estimated wall time of a plan at its maximum number of rounds. */
export function estimatePlanSeconds(plan: BenchPlan, options: { settleMs?: number; warmupSec?: number } = {}): number {
  const rounds = Math.max(plan.rounds, plan.maxRounds ?? plan.rounds);
  const warm = plan.warmup ? (options.warmupSec ?? plan.durationSec) + RUN_OVERHEAD_SEC : 0;
  const warmRounds = plan.warmup ? (plan.warmupRounds === "first" ? 1 : rounds) : 0;
  const measured = rounds * 2 * plan.cells.length * plan.runsPerRound * (plan.durationSec + RUN_OVERHEAD_SEC);
  const warmups = warmRounds * 2 * plan.cells.length * warm;
  const switches = plan.pairing === "cell" ? rounds * 2 * plan.cells.length : rounds * 2;
  const repairs = (plan.repairPairs ?? 0) > 0 ? Math.ceil((plan.cells.length * rounds) / 4) * 2 * (plan.runsPerRound * (plan.durationSec + RUN_OVERHEAD_SEC) + (options.settleMs ?? 2000) / 1000) : 0;
  const topologies = new Set(plan.cells.map((c) => c.topology)).size;
  return Math.ceil(measured + warmups + repairs + (switches * (options.settleMs ?? 2000)) / 1000 + topologies * 1);
}

/** Every reason the plan cannot run, as one input error (nothing is touched before this). */
export function validatePlan(plan: BenchPlan, options: { budgetSec?: number; settleMs?: number; warmupSec?: number; cpuCount?: number } = {}): void {
  const errs: string[] = [];
  const int = (v: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) errs.push(`${name} must be an integer in ${min}..${max}, got ${String(v)}`);
  };
  if (!Array.isArray(plan.cells) || plan.cells.length === 0) errs.push("no cells to run");
  const seen = new Set<string>();
  for (const c of plan.cells ?? []) {
    if (!(BENCH_TESTS as readonly string[]).includes(c.test)) errs.push(`unknown test ${JSON.stringify(c.test)} (known: ${BENCH_TESTS.join(", ")})`);
    if (!(TOPOLOGIES as readonly string[]).includes(c.topology)) errs.push(`unknown topology ${JSON.stringify(c.topology)} (known: ${TOPOLOGIES.join(", ")})`);
    if (!Number.isInteger(c.size) || c.size < 1 || c.size > MAX_SIZE) errs.push(`size ${String(c.size)} of ${c.test}/${c.topology} must be an integer in 1..${MAX_SIZE} bytes`);
    const k = cellKey(c);
    if (seen.has(k)) errs.push(`cell ${k} is listed twice`);
    seen.add(k);
  }
  if (!Array.isArray(plan.variants) || plan.variants.length !== 2) errs.push("exactly two variants are needed: [A = baseline, B = candidate]");
  else {
    const [a, b] = plan.variants;
    if (!a.name || !b.name || a.name === b.name) errs.push("the two variants need distinct, non-empty names");
    for (const v of plan.variants) {
      try {
        const vp = planVariant(v);
        if (vp.tcBpf.length > 0 && !(plan.cells ?? []).some((c) => c.topology !== "loopback")) {
          errs.push(`variant ${v.name}: tc-bpf attaches to a veth, but every cell is loopback (add the container topology)`);
        }
      } catch (err) {
        errs.push(`variant ${v.name}: ${(err as Error).message}`);
      }
    }
  }
  int(plan.rounds, "rounds", 1, 1000);
  int(plan.runsPerRound, "runsPerRound", 1, 1000);
  int(plan.durationSec, "durationSec", 1, 3600);
  int(plan.seed, "seed", 0);
  if (plan.maxRounds !== undefined) {
    int(plan.maxRounds, "maxRounds", 1, 1000);
    if (plan.maxRounds < plan.rounds) errs.push(`maxRounds (${plan.maxRounds}) is below rounds (${plan.rounds})`);
  }
  if (plan.design !== "ABBA" && plan.design !== "ABAB") errs.push(`design must be ABBA or ABAB, got ${String(plan.design)}`);
  if (plan.pairing !== undefined && plan.pairing !== "side" && plan.pairing !== "cell") errs.push(`pairing must be side or cell, got ${String(plan.pairing)}`);
  if (plan.warmupRounds !== undefined && plan.warmupRounds !== "all" && plan.warmupRounds !== "first") errs.push(`warmupRounds must be all or first, got ${String(plan.warmupRounds)}`);
  if (plan.repairPairs !== undefined) {
    int(plan.repairPairs, "repairPairs", 0, 10);
    if (plan.repairPairs > 0 && plan.pairing !== "cell") errs.push("repairPairs needs pairing cell (a pair is re-measured back to back)");
  }
  if (plan.pinning !== null) {
    const max = options.cpuCount !== undefined ? options.cpuCount - 1 : 4095;
    int(plan.pinning?.local, "pinning.local", 0, max);
    int(plan.pinning?.remote, "pinning.remote", 0, max);
  }
  if (errs.length === 0 && options.budgetSec !== undefined) {
    const est = estimatePlanSeconds(plan, options);
    if (est > options.budgetSec) {
      const rounds = Math.max(plan.rounds, plan.maxRounds ?? plan.rounds);
      errs.push(
        `matrix too large: ${plan.cells.length} cells × 2 variants × ${rounds} rounds × ${plan.runsPerRound} runs × ${plan.durationSec} s ≈ ${est} s, over the budget of ${options.budgetSec} s`,
      );
    }
  }
  if (errs.length > 0) throw inputError(`invalid bench plan: ${errs.join("; ")}`);
}

/** Variant indexes in slot order for a round: ABBA alternates, ABAB does not. */
export function variantOrder(design: BenchPlan["design"], round: number): [number, number] {
  return design === "ABBA" && round % 2 === 1 ? [1, 0] : [0, 1];
}

/** mulberry32: a small seeded PRNG, enough for shuffling. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cell order of a round: one seed per (plan seed, round), shared by its A and B. */
export function shuffleCells<T>(cells: readonly T[], seed: number, round: number): T[] {
  const rnd = prng(Math.imul(seed ^ 0x9e3779b9, 31) + round * 0x85ebca6b);
  const out = [...cells];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export interface ScheduledSide {
  round: number;
  slot: number;
  variant: number;
  cells: Cell[];
}

/** The sides of one round, in execution order. */
export function scheduleRound(plan: BenchPlan, round: number): ScheduledSide[] {
  const cells = shuffleCells(plan.cells, plan.seed, round);
  return variantOrder(plan.design, round).map((variant, slot) => ({ round, slot, variant, cells }));
}

// ---- the run ----

class Aborted extends Error {}

/**
 * Run a plan with the machine to itself: one benchmark per machine at a time
 * (they change host sysctls and need the CPUs), whoever starts it — a runner
 * stage, `patchbench bench` or a test.
 */
export async function runBenchPlan(plan: BenchPlan, deps: BenchDeps): Promise<BenchResult> {
  const lock = await acquireHostLock("bench", {
    ...(deps.signal ? { signal: deps.signal } : {}),
    onWait: (pid) => deps.log.info({ ownerPid: pid }, "waiting for another benchmark on this machine"),
  });
  try {
    return await runBenchPlanAlone(plan, deps);
  } finally {
    lock.release();
  }
}

async function runBenchPlanAlone(plan: BenchPlan, deps: BenchDeps): Promise<BenchResult> {
  const run = deps.exec ?? defaultExec;
  const log = deps.log;
  const prefix = deps.prefix ?? DEFAULT_PREFIX;
  const settleMs = deps.settleMs ?? 2000;
  const now = deps.now ?? (() => new Date());
  const hs = { exec: run, log, ...(deps.procSys === undefined ? {} : { procSys: deps.procSys }) };
  const startNs = deps.startNetserver ?? startNetserver;
  const readRetrans = deps.readRetransmits ?? ((ns: string | null) => readRetransSegs(ns, { exec: run }));
  const problems: string[] = [];
  const samples: BenchSample[] = [];

  // Validate before touching anything (budget included).
  validatePlan(plan, {
    settleMs,
    ...(deps.budgetSec === undefined ? {} : { budgetSec: deps.budgetSec }),
    ...(deps.warmupSec === undefined ? {} : { warmupSec: deps.warmupSec }),
  });
  const vplans: VariantPlan[] = plan.variants.map((v) => planVariant(v));
  if (plan.design === "ABAB" && plan.pairing !== "cell" && plan.rounds > 1) {
    // STATISTICS.md / bench-validate: ABAB per side puts every B after its A by a whole side, so
    // session drift biases every pair the same way; only back-to-back pairs per cell are safe.
    problems.push("ABAB with per-side pairing: drift between the A and B sides biases every pair the same way (use ABBA or pairing cell)");
  }
  const missingObjects = vplans.flatMap((v) => [...(v.cgroupBpf ? [v.cgroupBpf.object] : []), ...v.tcBpf.map((t) => t.object)]).filter((o) => !existsSync(o));
  if (missingObjects.length > 0) throw inputError(`BPF object(s) not found: ${missingObjects.join(", ")}`);
  const needCgroup = vplans.some((v) => v.cgroupBpf !== null);
  const bpfDeps = { exec: run, log };
  if (needCgroup) {
    const v = await run(["bpftool", "version"], { okCodes: "any", timeoutMs: 10_000 }).catch(() => null);
    if (v?.code !== 0) throw infraError("bpftool is needed for bpf-cgroup variants and did not answer", "apt-get install bpftool");
  }

  // Repair what a crashed run left behind.
  const repaired = await restoreFromJournal(deps.journalPath, hs);
  if (repaired.restored.length > 0) {
    problems.push(`restored ${repaired.restored.map((e) => `${e.key}=${e.original}`).join(", ")} left changed by an earlier run`);
  }
  problems.push(...repaired.problems);
  if (repaired.problems.length > 0) throw infraError(`cannot restore sysctls from ${deps.journalPath}: ${repaired.problems.join("; ")}`);
  const topologiesNeeded = [...new Set(plan.cells.map((c) => c.topology))];
  if (topologiesNeeded.some((t) => t !== "loopback")) {
    const stale = await cleanupStale(prefix, { exec: run, log });
    if (stale.length > 0) problems.push(`removed ${stale.length} namespace(s) left by a dead run: ${stale.join(", ")}`);
  }
  if (needCgroup) {
    const stale = await cleanupStaleBpf(prefix, bpfDeps);
    if (stale.length > 0) problems.push(`removed BPF leftovers of a dead run: ${stale.join(", ")}`);
  }

  const profile = await (deps.collectProfile ?? (() => collectMachineProfile({ exec: run })))();
  if (profile.netperfVersion === null) throw infraError("netperf -V did not answer: is netperf installed?", "Debian ships it in non-free");
  if (plan.pinning && (plan.pinning.local >= profile.cpuCount || plan.pinning.remote >= profile.cpuCount)) {
    throw inputError(`pinning -T ${plan.pinning.local},${plan.pinning.remote} names a CPU beyond the ${profile.cpuCount} online`);
  }

  const runId = newRunId();
  const topo = new Map<Topology, TopologyHandle>();
  const servers = new Map<Topology, NetserverHandle>();
  const restarts = new Map<Topology, number>();
  let cgroup: BenchCgroup | null = null;
  let aborted = false;
  const checkAbort = () => {
    if (deps.signal?.aborted) throw new Aborted("aborted");
  };

  const ensureNetserver = async (t: Topology): Promise<NetserverHandle> => {
    const cur = servers.get(t);
    if (cur?.alive()) return cur;
    const h = topo.get(t)!;
    if (cur) {
      const reason = cur.deathReason() ?? "netserver is gone";
      const n = restarts.get(t) ?? 0;
      if (n >= 1) throw infraError(`netserver for ${t} died again after a restart: ${reason}`);
      restarts.set(t, n + 1);
      await cur.stop().catch(() => undefined);
      problems.push(`netserver for ${t} died (${reason}); restarted once`);
      log.warn({ topology: t, reason }, "netserver died; restarting");
    }
    const s = await startNs({ addr: h.serverAddr, netns: h.serverNs }, { exec: run, log });
    // Its per-test children are forked after this, so their sockets are born in the cgroup.
    if (cgroup) moveToCgroup(cgroup, s.pid);
    servers.set(t, s);
    return s;
  };

  const netperfOnce = async (cell: Cell, sec: number, vp: VariantPlan) => {
    const h = topo.get(cell.topology)!;
    const server = await ensureNetserver(cell.topology);
    const keys = keysForTest(cell.test);
    const argv = buildNetperfArgv({
      test: cell.test,
      size: cell.size,
      host: h.serverAddr,
      port: server.port,
      durationSec: sec,
      pinning: plan.pinning,
      netns: h.clientNs,
      keys,
      testArgs: vp.netperfArgs,
    });
    const counters = [...new Set([h.clientNs, h.serverNs])];
    const retransBefore = await Promise.all(counters.map((ns) => readRetrans(ns)));
    const startedAt = now().toISOString();
    let res: ExecResult;
    try {
      res = await run(inCgroupArgv(cgroup, argv), { okCodes: "any", timeoutMs: (sec + 20) * 1000, ...(deps.signal ? { signal: deps.signal } : {}) });
    } catch (err) {
      const r = (err as { result?: ExecResult }).result;
      if (deps.signal?.aborted) throw new Aborted("aborted");
      if (!r) throw err; // netperf missing etc.: infrastructure
      res = r;
    }
    const endedAt = now().toISOString();
    const retransAfter = await Promise.all(counters.map((ns) => readRetrans(ns)));
    const check = checkNetperfRun({ code: res.code, signal: res.signal, timedOut: res.timedOut, stdout: res.stdout, stderr: res.stderr, requestedKeys: keys });
    let problem = check.problem;
    let ok = check.ok;
    if (!check.ok && !server.alive()) problem = `${problem}; ${server.deathReason() ?? "netserver died"}`;
    // Quality gate: loopback and our veths never drop; more than a few retransmits mean the run measured timers.
    let retrans = 0;
    retransBefore.forEach((b, i) => {
      const a = retransAfter[i];
      if (b !== null && b !== undefined && a !== null && a !== undefined) retrans += a - b;
    });
    if (retrans > 0) check.output.values.RETRANSMITS = String(retrans);
    const retransProblem = ok
      ? retransmitProblem(retrans, { test: cell.test, throughput: check.output.throughput, seconds: sec, topology: cell.topology })
      : null;
    if (retransProblem) {
      ok = false;
      problem = retransProblem;
    }
    return { startedAt, endedAt, check, ok, problem };
  };

  /** Apply a variant: sysctls (journaled), then its BPF programs. Returns how to undo the BPF part. */
  const applyVariant = async (vi: number): Promise<{ sockops: AttachedSockops | null; tc: AttachedTc[] }> => {
    const vp = vplans[vi]!;
    const namespaces = [...topo.values()].flatMap((h) => h.namespaces);
    const undo: { sockops: AttachedSockops | null; tc: AttachedTc[] } = { sockops: null, tc: [] };
    try {
      await applySettings(vp.sysctls, { journalPath: deps.journalPath, namespaces }, hs);
      if (vp.cgroupBpf && cgroup) undo.sockops = await attachSockops(cgroup, vp.cgroupBpf.object, vp.cgroupBpf.program, bpfDeps);
      for (const t of vp.tcBpf) {
        for (const h of topo.values()) {
          const ns = t.side === "client" ? h.clientNs : h.serverNs;
          const dev = t.side === "client" ? h.clientIf : h.serverIf;
          if (ns && dev) undo.tc.push(await attachTcEgress(ns, dev, t.object, t.section, bpfDeps));
        }
      }
    } catch (err) {
      await undoVariant(undo).catch(() => undefined);
      throw err;
    }
    return undo;
  };

  const undoVariant = async (undo: { sockops: AttachedSockops | null; tc: AttachedTc[] }): Promise<string[]> => {
    const errs: string[] = [];
    for (const t of undo.tc) await detachTcEgress(t, bpfDeps).catch((e: unknown) => errs.push((e as Error).message));
    if (undo.sockops) await detachSockops(undo.sockops, bpfDeps).catch((e: unknown) => errs.push((e as Error).message));
    const r = await restoreFromJournal(deps.journalPath, hs);
    errs.push(...r.problems);
    return errs;
  };

  const measureCell = async (cell: Cell, side: ScheduledSide) => {
    const variant = plan.variants[side.variant]!;
    const vp = vplans[side.variant]!;
    if (plan.warmup && (plan.warmupRounds !== "first" || side.round === 0)) {
      checkAbort();
      const w = await netperfOnce(cell, deps.warmupSec ?? plan.durationSec, vp);
      if (!w.ok) problems.push(`warm-up ${cellKey(cell)} ${variant.name} round ${side.round}: ${w.problem}`);
    }
    for (let r = 0; r < plan.runsPerRound; r++) {
      checkAbort();
      const o = await netperfOnce(cell, plan.durationSec, vp);
      const sample: BenchSample = {
        cell,
        variant: variant.name,
        round: side.round,
        run: r,
        slot: side.slot,
        startedAt: o.startedAt,
        endedAt: o.endedAt,
        values: o.check.output.values,
        throughput: o.check.output.throughput,
        ok: o.ok,
        ...(o.problem === undefined ? {} : { problem: o.problem }),
      };
      samples.push(sample);
      if (!sample.ok) log.warn({ cell: cellKey(cell), variant: variant.name, problem: sample.problem }, "netperf run failed");
      deps.onSample?.(sample);
    }
  };

  /** Why a freshly measured pair should be measured again, or null. History: good runs so far. */
  const pairProblem = (fresh: readonly BenchSample[], lookingBack = false): string | null => {
    for (const s of fresh) {
      if (!s.ok) return lookingBack ? null : `${s.variant}: ${s.problem ?? "failed"}`;
      const prior = samples.filter(
        (x) => x.ok && x.superseded === undefined && x.variant === s.variant && cellKey(x.cell) === cellKey(s.cell) && !fresh.includes(x),
      );
      if (prior.length >= 2) {
        const sorted = prior.map((x) => x.throughput).sort((a, b) => a - b);
        const med = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
        if (s.throughput < SLOW_MODE_RATIO * med) return `${s.variant}: slow mode (${s.throughput.toFixed(0)} < ${Math.round(SLOW_MODE_RATIO * 100)}% of median ${med.toFixed(0)})`;
      }
    }
    return null;
  };

  /** Apply a side's variant, measure `cells`, then undo — undo runs even when measuring failed. */
  const runSide = async (side: ScheduledSide, cells: readonly Cell[]) => {
    const variant = plan.variants[side.variant]!;
    let failure: { err: unknown } | null = null;
    let undo: { sockops: AttachedSockops | null; tc: AttachedTc[] } = { sockops: null, tc: [] };
    try {
      checkAbort();
      undo = await applyVariant(side.variant);
      log.debug({ round: side.round, slot: side.slot, variant: variant.name }, "variant applied");
      await sleep(settleMs, undefined, deps.signal ? { signal: deps.signal } : {}).catch(() => undefined);
      for (const cell of cells) await measureCell(cell, side);
    } catch (err) {
      failure = { err };
    }
    const errs = await undoVariant(undo);
    problems.push(...errs);
    if (failure) throw failure.err;
    if (errs.length > 0) throw infraError(`restoring the host after ${variant.name} failed: ${errs.join("; ")}`);
  };

  try {
    if (needCgroup) cgroup = createBenchCgroup({ prefix, runId }, bpfDeps);
    for (const t of topologiesNeeded) {
      checkAbort();
      topo.set(t, await setupTopology(t, { prefix, runId }, { exec: run, log }));
      await ensureNetserver(t);
    }
    const maxRounds = Math.max(plan.rounds, plan.maxRounds ?? plan.rounds);
    // Re-measured pairs are capped at a quarter of all pairs (the budget estimate adds as much).
    let repairsLeft = Math.ceil((plan.cells.length * maxRounds) / 4);
    let target = plan.rounds;
    /** Measure one cell's pair of a round; while the fresh pair has a problem, supersede it and measure again, within the budget. */
    const measurePair = async (sides: readonly ScheduledSide[], cell: Cell, round: number) => {
      let previous: BenchSample[] | null = null;
      let why: string | null = null;
      for (let attempt = 0; ; attempt++) {
        if (previous !== null) {
          if (why === null || attempt > (plan.repairPairs ?? 0)) break;
          if (repairsLeft <= 0) {
            problems.push(`${cellKey(cell)} round ${round}: not measured again (${why}): repair budget spent`);
            break;
          }
          repairsLeft--;
          for (const s of previous) s.superseded = why;
          problems.push(`${cellKey(cell)} round ${round}: pair measured again (${why})`);
          log.info({ cell: cellKey(cell), round, why }, "pair measured again");
        }
        const first = samples.length;
        for (const side of sides) await runSide(side, [cell]);
        previous = samples.slice(first);
        why = pairProblem(previous);
      }
    };
    /**
     * The first two rounds have no history to judge the slow mode by; once two more exist, look
     * back at them with the same rule against the median of all good runs, and measure a slow
     * pair again (at most once here; the re-run is judged like any other pair).
     */
    let lookedBack = false;
    const lookBack = async (round: number) => {
      if ((plan.repairPairs ?? 0) === 0) return;
      for (const r of [0, 1].filter((x) => x < round)) {
        const sides = scheduleRound(plan, r);
        for (const cell of sides[0]!.cells) {
          const pair = samples.filter((x) => x.round === r && x.superseded === undefined && cellKey(x.cell) === cellKey(cell));
          const why = pairProblem(pair, true);
          if (why === null) continue;
          if (repairsLeft <= 0) {
            problems.push(`${cellKey(cell)} round ${r}: not measured again (${why}): repair budget spent`);
            continue;
          }
          for (const s of pair) s.superseded = why;
          repairsLeft--;
          problems.push(`${cellKey(cell)} round ${r}: pair measured again after round ${round - 1} (${why})`);
          log.info({ cell: cellKey(cell), round: r, why }, "early pair measured again");
          await measurePair(sides, cell, r);
        }
      }
    };
    for (let round = 0; round < target; round++) {
      const sides = scheduleRound(plan, round);
      if (plan.pairing === "cell") {
        for (const cell of sides[0]!.cells) await measurePair(sides, cell, round);
        if (!lookedBack && round >= 2 && round + 1 === Math.min(4, target)) {
          lookedBack = true;
          await lookBack(round + 1);
        }
      } else {
        for (const side of sides) await runSide(side, side.cells);
      }
      const done = round + 1;
      if (done === target && deps.decide && target < maxRounds && (done - plan.rounds) % 2 === 0) {
        const d = await deps.decide(samples);
        log.info({ rounds: done, decision: d }, "adaptive decision");
        if (d === "continue") target = Math.min(target + 2, maxRounds);
      }
    }
  } catch (err) {
    if (!(err instanceof Aborted)) throw err;
    aborted = true;
    problems.push("aborted before the plan finished");
    log.warn({ samples: samples.length }, "bench aborted");
  } finally {
    for (const [t, s] of servers) {
      await s.stop().catch((e: unknown) => problems.push(`stopping netserver for ${t}: ${(e as Error).message}`));
    }
    for (const h of topo.values()) {
      await teardownTopology(h, { exec: run, log }).catch((e: unknown) => problems.push((e as Error).message));
    }
    if (cgroup) await removeBenchCgroup(cgroup, bpfDeps).catch((e: unknown) => problems.push((e as Error).message));
  }
  return { samples, profile, problems, aborted };
}
