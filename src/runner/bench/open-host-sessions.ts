import { existsSync } from "node:fs";
import type { Topology } from "../../domain/bench.ts";
import type { BenchPlan } from "../../domain/bench-plan.ts";
import { infraError, inputError } from "../../lib/errors.ts";
import { type Exec, exec as defaultExec } from "../../lib/exec.ts";
import type { Logger } from "../../lib/logger.ts";
import { cleanupStaleBpf, createBenchCgroup } from "./bpf-attach.ts";
import { restoreFromJournal } from "./host-settings.ts";
import { closeHostBench, createHostSideSession, ensureNetserver, type HostBench } from "./host-side-session.ts";
import { collectMachineProfile, type MachineProfile } from "./machine-profile.ts";
import { type NetserverDeps, type NetserverHandle, type NetserverOptions, startNetserver } from "./netserver.ts";
import { type RemotePeer, readPeerKernel } from "./remote-peer.ts";
import type { SideSession } from "./side-session.ts";
import { readRetransSegs } from "./tcp-retransmits.ts";
import { cleanupStale, DEFAULT_PREFIX, newRunId, setupTopology, type TopologyHandle } from "./topology.ts";
import { planVariant } from "./variant-plan.ts";

export interface HostSessionDeps {
  exec?: Exec;
  log: Logger;
  /** Sysctl journal (originals recorded before each change; restored on the next start after a crash). */
  journalPath: string;
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
  /** The remote topology's peer (tree config bench.remote). */
  remote?: RemotePeer | null;
}

export interface HostSessions {
  /** One per plan variant, in plan order. */
  sessions: SideSession[];
  profile: MachineProfile;
  /** The remote peer's `uname -r`, when a cell uses the remote topology. */
  peerKernel: string | null;
  /** What was repaired while setting up (a crashed run's leftovers), in words. */
  problems: string[];
}

/** Every reason the host cannot run the plan's variants (pure): a sysctl not allowed, a kernel variant, a bad BPF object path, tc-bpf without a veth. */
export function hostPlanProblems(plan: BenchPlan): string[] {
  const errs: string[] = [];
  for (const v of Array.isArray(plan.variants) ? plan.variants : []) {
    try {
      const vp = planVariant(v);
      if (vp.tcBpf.length > 0 && !(plan.cells ?? []).some((c) => c.topology !== "loopback")) {
        errs.push(`variant ${v.name}: tc-bpf attaches to a veth, but every cell is loopback (add the container topology)`);
      }
    } catch (err) {
      errs.push(`variant ${v.name}: ${(err as Error).message}`);
    }
  }
  return errs;
}

/**
 * The host sides of a (validated) plan: repairs what a crashed run left (sysctl journal,
 * namespaces, BPF leftovers), checks netperf and the pinning against this machine, then sets up
 * what every side shares — the cgroup, the topologies and their netservers. Close every
 * session to tear it down (the last close does).
 */
export async function openHostSessions(plan: BenchPlan, deps: HostSessionDeps): Promise<HostSessions> {
  const run = deps.exec ?? defaultExec;
  const log = deps.log;
  const prefix = deps.prefix ?? DEFAULT_PREFIX;
  const settings = { exec: run, log, ...(deps.procSys === undefined ? {} : { procSys: deps.procSys }) };
  const problems: string[] = [];
  const vplans = plan.variants.map((v) => planVariant(v));
  const missingObjects = vplans.flatMap((v) => [...(v.cgroupBpf ? [v.cgroupBpf.object] : []), ...v.tcBpf.map((t) => t.object)]).filter((o) => !existsSync(o));
  if (missingObjects.length > 0) throw inputError(`BPF object(s) not found: ${missingObjects.join(", ")}`);
  const needCgroup = vplans.some((v) => v.cgroupBpf !== null);
  const bpfDeps = { exec: run, log };
  if (needCgroup) {
    const v = await run(["bpftool", "version"], { okCodes: "any", timeoutMs: 10_000 }).catch(() => null);
    if (v?.code !== 0) throw infraError("bpftool is needed for bpf-cgroup variants and did not answer", "apt-get install bpftool");
  }

  // Repair what a crashed run left behind.
  const repaired = await restoreFromJournal(deps.journalPath, settings);
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

  const remote = deps.remote ?? null;
  if (topologiesNeeded.includes("remote") && !remote) throw inputError("the remote topology needs bench.remote (the peer's ssh access and data address)");
  if (remote && topologiesNeeded.includes("remote")) {
    const missing = [remote.identityFile, remote.knownHostsFile].filter((f) => !existsSync(f));
    if (missing.length > 0) throw inputError(`bench.remote: ${missing.join(", ")} not found (the peer's identity file and pinned known_hosts)`);
  }
  // First contact with the peer: unreachable or a host key that is not the pinned one ends here.
  const peerKernel = remote && topologiesNeeded.includes("remote") ? await readPeerKernel(remote, { exec: run, log }) : null;

  const runId = newRunId();
  const host: HostBench = {
    exec: run,
    log,
    journalPath: deps.journalPath,
    settings,
    pinning: plan.pinning,
    topo: new Map<Topology, TopologyHandle>(),
    servers: new Map(),
    restarts: new Map(),
    cgroup: null,
    startNetserver: deps.startNetserver ?? startNetserver,
    remote,
    readRetransmits: deps.readRetransmits ?? ((ns: string | null) => readRetransSegs(ns, { exec: run })),
    now: deps.now ?? (() => new Date()),
    notes: [],
    open: plan.variants.length,
  };
  try {
    if (needCgroup) host.cgroup = createBenchCgroup({ prefix, runId }, bpfDeps);
    for (const t of topologiesNeeded) {
      host.topo.set(t, await setupTopology(t, { prefix, runId, ...(remote ? { remoteAddr: remote.dataAddr } : {}) }, { exec: run, log }));
      await ensureNetserver(host, t);
    }
  } catch (err) {
    problems.push(...(await closeHostBench(host)));
    for (const p of problems) log.warn({ problem: p }, "bench setup");
    throw err;
  }
  return { sessions: plan.variants.map((v) => createHostSideSession(host, v)), profile, peerKernel, problems };
}
