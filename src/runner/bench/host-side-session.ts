import type { Cell, Topology, Variant } from "../../domain/bench.ts";
import type { BenchPlan } from "../../domain/bench-plan.ts";
import { infraError } from "../../lib/errors.ts";
import type { Exec, ExecResult } from "../../lib/exec.ts";
import type { Logger } from "../../lib/logger.ts";
import {
  type AttachedSockops,
  type AttachedTc,
  attachSockops,
  attachTcEgress,
  type BenchCgroup,
  detachSockops,
  detachTcEgress,
  inCgroupArgv,
  moveToCgroup,
  removeBenchCgroup,
} from "./bpf-attach.ts";
import { applySettings, type HostSettingsDeps, restoreFromJournal } from "./host-settings.ts";
import { buildNetperfArgv, keysForTest } from "./netperf-command.ts";
import type { NetserverDeps, NetserverHandle, NetserverOptions } from "./netserver.ts";
import { checkNetperfRun } from "./parse-netperf.ts";
import { type RemotePeer, startRemoteNetserver } from "./remote-peer.ts";
import type { RunOutcome, SideSession } from "./side-session.ts";
import { retransmitProblem } from "./tcp-retransmits.ts";
import { type TopologyHandle, teardownTopology } from "./topology.ts";
import { describeVariant, planVariant } from "./variant-plan.ts";

/**
 * What the host sides of one benchmark share (built by openHostSessions): the topologies with
 * their netservers, the cgroup BPF programs attach to, the sysctl journal. Torn down when the
 * last side closes.
 */
export interface HostBench {
  exec: Exec;
  log: Logger;
  journalPath: string;
  settings: HostSettingsDeps;
  pinning: BenchPlan["pinning"];
  topo: Map<Topology, TopologyHandle>;
  servers: Map<Topology, NetserverHandle>;
  /** Netserver restarts per topology (one is allowed). */
  restarts: Map<Topology, number>;
  cgroup: BenchCgroup | null;
  startNetserver: (options: NetserverOptions, deps: NetserverDeps) => Promise<NetserverHandle>;
  /** The remote topology's peer (its netserver is started over ssh), or null. */
  remote: RemotePeer | null;
  readRetransmits: (netns: string | null) => Promise<number | null>;
  now: () => Date;
  /** Things repaired since the last run's outcome (reported with it). */
  notes: string[];
  /** Sides not closed yet. */
  open: number;
}

/** The topology's netserver, started (or restarted once after it died). */
export async function ensureNetserver(host: HostBench, t: Topology): Promise<NetserverHandle> {
  const cur = host.servers.get(t);
  if (cur?.alive()) return cur;
  const h = host.topo.get(t)!;
  if (cur) {
    const reason = cur.deathReason() ?? "netserver is gone";
    const n = host.restarts.get(t) ?? 0;
    if (n >= 1) throw infraError(`netserver for ${t} died again after a restart: ${reason}`);
    host.restarts.set(t, n + 1);
    await cur.stop().catch(() => undefined);
    host.notes.push(`netserver for ${t} died (${reason}); restarted once`);
    host.log.warn({ topology: t, reason }, "netserver died; restarting");
  }
  if (t === "remote") {
    if (!host.remote) throw infraError("the remote topology has no peer configured (bench.remote)");
    const s = await startRemoteNetserver(host.remote, { exec: host.exec, log: host.log });
    host.servers.set(t, s);
    return s;
  }
  const s = await host.startNetserver({ addr: h.serverAddr, netns: h.serverNs }, { exec: host.exec, log: host.log });
  // Its per-test children are forked after this, so their sockets are born in the cgroup.
  if (host.cgroup) moveToCgroup(host.cgroup, s.pid);
  host.servers.set(t, s);
  return s;
}

/** Stop the netservers, remove the namespaces and the cgroup; returns what failed, in words. */
export async function closeHostBench(host: HostBench): Promise<string[]> {
  const problems: string[] = [];
  for (const [t, s] of host.servers) {
    await s.stop().catch((e: unknown) => problems.push(`stopping netserver for ${t}: ${(e as Error).message}`));
  }
  host.servers.clear();
  for (const h of host.topo.values()) {
    await teardownTopology(h, { exec: host.exec, log: host.log }).catch((e: unknown) => problems.push((e as Error).message));
  }
  host.topo.clear();
  if (host.cgroup) await removeBenchCgroup(host.cgroup, { exec: host.exec, log: host.log }).catch((e: unknown) => problems.push((e as Error).message));
  host.cgroup = null;
  return problems;
}

/**
 * One side on the runner's own kernel: enter applies the variant's sysctls (journaled) and
 * attaches its BPF programs, leave undoes both, measure is one netperf run with the quality
 * gates (exit status, requested keys, TCP retransmits).
 */
export function createHostSideSession(host: HostBench, variant: Variant): SideSession {
  const vp = planVariant(variant);
  const bpf = { exec: host.exec, log: host.log };
  let undo: { sockops: AttachedSockops | null; tc: AttachedTc[] } = { sockops: null, tc: [] };
  let closed = false;

  const leave = async (): Promise<string[]> => {
    const errs: string[] = [];
    for (const t of undo.tc) await detachTcEgress(t, bpf).catch((e: unknown) => errs.push((e as Error).message));
    if (undo.sockops) await detachSockops(undo.sockops, bpf).catch((e: unknown) => errs.push((e as Error).message));
    undo = { sockops: null, tc: [] };
    const r = await restoreFromJournal(host.journalPath, host.settings);
    errs.push(...r.problems);
    return errs;
  };

  return {
    name: variant.name,
    describe: `host, ${describeVariant(variant)}`,
    async enter() {
      const namespaces = [...host.topo.values()].flatMap((h) => h.namespaces);
      try {
        await applySettings(vp.sysctls, { journalPath: host.journalPath, namespaces }, host.settings);
        if (vp.cgroupBpf && host.cgroup) undo.sockops = await attachSockops(host.cgroup, vp.cgroupBpf.object, vp.cgroupBpf.program, bpf);
        for (const t of vp.tcBpf) {
          for (const h of host.topo.values()) {
            const ns = t.side === "client" ? h.clientNs : h.serverNs;
            const dev = t.side === "client" ? h.clientIf : h.serverIf;
            if (ns && dev) undo.tc.push(await attachTcEgress(ns, dev, t.object, t.section, bpf));
          }
        }
      } catch (err) {
        await leave().catch(() => undefined);
        throw err;
      }
    },
    leave,
    async measure(cell: Cell, sec: number, signal?: AbortSignal): Promise<RunOutcome> {
      const h = host.topo.get(cell.topology);
      if (!h) throw infraError(`no ${cell.topology} topology was set up for ${vp.name}`);
      const server = await ensureNetserver(host, cell.topology);
      const keys = keysForTest(cell.test);
      const argv = buildNetperfArgv({
        test: cell.test,
        size: cell.size,
        host: h.serverAddr,
        port: server.port,
        durationSec: sec,
        pinning: host.pinning,
        netns: h.clientNs,
        keys,
        testArgs: vp.netperfArgs,
      });
      const counters = [...new Set([h.clientNs, h.serverNs])];
      const retransBefore = await Promise.all(counters.map((ns) => host.readRetransmits(ns)));
      const startedAt = host.now().toISOString();
      let res: ExecResult;
      try {
        res = await host.exec(inCgroupArgv(host.cgroup, argv), { okCodes: "any", timeoutMs: (sec + 20) * 1000, ...(signal ? { signal } : {}) });
      } catch (err) {
        const r = (err as { result?: ExecResult }).result;
        if (signal?.aborted || !r) throw err; // aborted, or netperf missing etc.: infrastructure
        res = r;
      }
      const endedAt = host.now().toISOString();
      const retransAfter = await Promise.all(counters.map((ns) => host.readRetransmits(ns)));
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
      const retransProblem = ok ? retransmitProblem(retrans, { test: cell.test, throughput: check.output.throughput, seconds: sec, topology: cell.topology }) : null;
      if (retransProblem) {
        ok = false;
        problem = retransProblem;
      }
      const notes = host.notes.splice(0);
      return {
        startedAt,
        endedAt,
        values: check.output.values,
        throughput: check.output.throughput,
        ok,
        ...(problem === undefined ? {} : { problem }),
        ...(notes.length > 0 ? { notes } : {}),
      };
    },
    async close() {
      if (closed) return [];
      closed = true;
      host.open--;
      return host.open === 0 ? closeHostBench(host) : [];
    },
  };
}
