import { randomBytes } from "node:crypto";
import type { Topology } from "../../domain/bench.ts";
import { infraError, inputError } from "../../lib/errors.ts";
import { type Exec, exec as defaultExec } from "../../lib/exec.ts";
import type { Logger } from "../../lib/logger.ts";
import { isPidAlive } from "../../lib/is-pid-alive.ts";

/**
 * Network topologies for netperf, built from namespaces only patchbench uses.
 *
 * Namespace names are `<prefix>-<ownerPid>-<rand>-<role>`: the owner PID in the
 * name lets `cleanupStale` recognise leftovers of a dead process without any
 * state file, and the random part keeps parallel runs of one process apart.
 * Interfaces are created directly inside their namespace, so their names only
 * need to be unique there; they still carry the random part (≤ 15 chars, IFNAMSIZ).
 * Addresses are documentation ranges (RFC 5737) that exist only inside our namespaces.
 */

export const DEFAULT_PREFIX = "pb";

export interface TopologyHandle {
  topology: Topology;
  runId: string;
  /** Namespace netperf runs in; null = the host (loopback). */
  clientNs: string | null;
  /** Namespace netserver runs in; null = the host (loopback). */
  serverNs: string | null;
  clientAddr: string;
  serverAddr: string;
  /** Every namespace this topology owns (deleted on teardown). */
  namespaces: string[];
  /** Interface that must be up with `serverAddr` in serverNs / `clientAddr` in clientNs (tc-BPF attaches here). */
  serverIf: string | null;
  clientIf: string | null;
}

export interface TopologyPlan extends TopologyHandle {
  /** `ip` argv lists, in order. */
  commands: string[][];
}

export interface TopologyDeps {
  exec?: Exec;
  log?: Logger;
}

const PREFIX_RE = /^[a-z][a-z0-9]{0,7}$/;

export function validatePrefix(prefix: string): void {
  if (!PREFIX_RE.test(prefix)) throw inputError(`namespace prefix ${JSON.stringify(prefix)} must match ${PREFIX_RE}`);
}

/** `<ownerPid>-<4 hex>`: unique per run, and tells whose namespaces they are. */
export function newRunId(pid: number = process.pid): string {
  return `${pid}-${randomBytes(2).toString("hex")}`;
}

const RUN_ID_RE = /^(\d+)-([0-9a-f]{4})$/;

/** Pure: names, addresses and `ip` commands of one topology. */
export function planTopology(topology: Topology, prefix: string, runId: string, remoteAddr?: string): TopologyPlan {
  validatePrefix(prefix);
  const m = RUN_ID_RE.exec(runId);
  if (!m) throw inputError(`run id ${JSON.stringify(runId)} must look like <pid>-<4 hex>`);
  const rand = m[2]!;
  const ns = (role: string) => `${prefix}-${runId}-${role}`;
  const ifn = (role: string) => `pb${rand}${role}`; // 6 + ≤3 chars
  const up = (n: string, dev: string) => ["ip", "-n", n, "link", "set", dev, "up"];
  if (topology === "loopback") {
    return {
      topology,
      runId,
      clientNs: null,
      serverNs: null,
      clientAddr: "127.0.0.1",
      serverAddr: "127.0.0.1",
      namespaces: [],
      commands: [],
      serverIf: null,
      clientIf: null,
    };
  }
  if (topology === "remote") {
    // netperf runs on the host and crosses a real NIC to the peer (remote-peer.ts): nothing to build here.
    if (!remoteAddr) throw inputError("the remote topology needs the peer's data address (bench.remote.dataAddr)");
    return { topology, runId, clientNs: null, serverNs: null, clientAddr: "", serverAddr: remoteAddr, namespaces: [], commands: [], serverIf: null, clientIf: null };
  }
  if (topology === "container") {
    const a = ns("ca");
    const b = ns("cb");
    const ia = ifn("ca");
    const ib = ifn("cb");
    return {
      topology,
      runId,
      clientNs: a,
      serverNs: b,
      clientAddr: "192.0.2.1",
      serverAddr: "192.0.2.2",
      namespaces: [a, b],
      serverIf: ib,
      clientIf: ia,
      commands: [
        ["ip", "netns", "add", a],
        ["ip", "netns", "add", b],
        ["ip", "link", "add", ia, "netns", a, "type", "veth", "peer", "name", ib, "netns", b],
        ["ip", "-n", a, "addr", "add", "192.0.2.1/24", "dev", ia],
        ["ip", "-n", b, "addr", "add", "192.0.2.2/24", "dev", ib],
        up(a, "lo"),
        up(b, "lo"),
        up(a, ia),
        up(b, ib),
      ],
    };
  }
  const a = ns("ba");
  const b = ns("bb");
  const r = ns("br");
  const ia = ifn("ba");
  const ib = ifn("bb");
  const ra = ifn("bra");
  const rb = ifn("brb");
  const br = ifn("br0");
  return {
    topology,
    runId,
    clientNs: a,
    serverNs: b,
    clientAddr: "198.51.100.1",
    serverAddr: "198.51.100.2",
    namespaces: [a, b, r],
    serverIf: ib,
    clientIf: ia,
    commands: [
      ["ip", "netns", "add", a],
      ["ip", "netns", "add", b],
      ["ip", "netns", "add", r],
      ["ip", "-n", r, "link", "add", br, "type", "bridge"],
      ["ip", "link", "add", ia, "netns", a, "type", "veth", "peer", "name", ra, "netns", r],
      ["ip", "link", "add", ib, "netns", b, "type", "veth", "peer", "name", rb, "netns", r],
      ["ip", "-n", r, "link", "set", ra, "master", br],
      ["ip", "-n", r, "link", "set", rb, "master", br],
      ["ip", "-n", a, "addr", "add", "198.51.100.1/24", "dev", ia],
      ["ip", "-n", b, "addr", "add", "198.51.100.2/24", "dev", ib],
      up(a, "lo"),
      up(b, "lo"),
      up(r, "lo"),
      up(r, br),
      up(r, ra),
      up(r, rb),
      up(a, ia),
      up(b, ib),
    ],
  };
}

/** Pure: names from `ip netns list` ("name (id: 3)" or "name"). */
export function parseNetnsList(stdout: string): string[] {
  return stdout
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0] ?? "")
    .filter((n) => n !== "");
}

/** Pure: the owner PID encoded in one of our namespace names, or null when not ours. */
export function ownerPidOf(name: string, prefix: string): number | null {
  if (!name.startsWith(`${prefix}-`)) return null;
  const m = /^(\d+)-[0-9a-f]{4}-[a-z0-9]+$/.exec(name.slice(prefix.length + 1));
  return m ? Number(m[1]) : null;
}

export async function listNetns(deps: TopologyDeps = {}): Promise<string[]> {
  const run = deps.exec ?? defaultExec;
  const r = await run(["ip", "netns", "list"], { timeoutMs: 10_000 });
  return parseNetnsList(r.stdout);
}

async function isConfigured(plan: TopologyPlan, run: Exec): Promise<boolean> {
  const existing = new Set(await listNetns({ exec: run }));
  if (!plan.namespaces.every((n) => existing.has(n))) return false;
  const check = async (ns: string | null, dev: string | null, addr: string) => {
    if (!ns || !dev) return true;
    const r = await run(["ip", "-n", ns, "-o", "addr", "show", "dev", dev], { okCodes: "any", timeoutMs: 10_000 });
    const l = await run(["ip", "-n", ns, "-o", "link", "show", "dev", dev], { okCodes: "any", timeoutMs: 10_000 });
    return r.code === 0 && r.stdout.includes(` ${addr}/`) && /state UP/.test(l.stdout);
  };
  return (await check(plan.clientNs, plan.clientIf, plan.clientAddr)) && (await check(plan.serverNs, plan.serverIf, plan.serverAddr));
}

/** Kill every process inside a namespace (our netservers and their children), then delete it. */
async function deleteNetns(ns: string, run: Exec, log?: Logger): Promise<void> {
  const pids = await run(["ip", "netns", "pids", ns], { okCodes: "any", timeoutMs: 10_000 });
  for (const p of pids.stdout.split(/\s+/).filter((x) => /^\d+$/.test(x))) {
    try {
      process.kill(Number(p), "SIGKILL");
      log?.debug({ ns, pid: Number(p) }, "killed process left in namespace");
    } catch {
      /* already gone */
    }
  }
  const r = await run(["ip", "netns", "del", ns], { okCodes: "any", timeoutMs: 10_000 });
  if (r.code !== 0 && !/No such file/.test(r.stderr)) {
    throw infraError(`ip netns del ${ns} failed: ${r.stderr.trim() || r.stdout.trim()}`);
  }
}

/**
 * Build a topology. Idempotent: when every namespace already exists with its
 * addresses up it is reused; a partial one is removed and rebuilt.
 */
export async function setupTopology(
  topology: Topology,
  options: { prefix?: string; runId: string; remoteAddr?: string },
  deps: TopologyDeps = {},
): Promise<TopologyHandle> {
  const run = deps.exec ?? defaultExec;
  const plan = planTopology(topology, options.prefix ?? DEFAULT_PREFIX, options.runId, options.remoteAddr);
  const { commands: _c, ...handle } = plan;
  if (plan.namespaces.length === 0) return handle;
  if (await isConfigured(plan, run)) {
    deps.log?.debug({ topology, namespaces: plan.namespaces }, "topology already set up");
    return handle;
  }
  const existing = new Set(await listNetns({ exec: run }));
  for (const n of plan.namespaces) if (existing.has(n)) await deleteNetns(n, run, deps.log);
  const t0 = Date.now();
  try {
    for (const argv of plan.commands) await run(argv, { timeoutMs: 15_000 });
  } catch (err) {
    await teardownTopology(handle, deps).catch(() => undefined);
    throw infraError(`setting up the ${topology} topology failed: ${(err as Error).message}`, "is `ip netns add` permitted here?", err);
  }
  deps.log?.info({ topology, namespaces: plan.namespaces, ms: Date.now() - t0 }, "topology set up");
  return handle;
}

/** Remove a topology's namespaces (and anything still running inside them). Safe to repeat. */
export async function teardownTopology(handle: TopologyHandle, deps: TopologyDeps = {}): Promise<void> {
  const run = deps.exec ?? defaultExec;
  const errors: string[] = [];
  for (const n of handle.namespaces) {
    try {
      await deleteNetns(n, run, deps.log);
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  if (errors.length > 0) throw infraError(`teardown of ${handle.topology} incomplete: ${errors.join("; ")}`);
}


/**
 * Delete namespaces with our prefix whose owner process is dead (a crashed or
 * killed run), killing whatever still runs inside them. Returns the names deleted.
 */
export async function cleanupStale(
  prefix: string = DEFAULT_PREFIX,
  deps: TopologyDeps & { isAlive?: (pid: number) => boolean } = {},
): Promise<string[]> {
  validatePrefix(prefix);
  const run = deps.exec ?? defaultExec;
  const alive = deps.isAlive ?? isPidAlive;
  const removed: string[] = [];
  for (const n of await listNetns({ exec: run })) {
    const owner = ownerPidOf(n, prefix);
    if (owner === null || alive(owner)) continue;
    await deleteNetns(n, run, deps.log);
    removed.push(n);
  }
  if (removed.length > 0) deps.log?.warn({ removed }, "removed namespaces left by a dead run");
  return removed;
}

/** Whether this process may create network namespaces (probes with a throwaway one). */
export async function canCreateNetns(prefix: string = DEFAULT_PREFIX, deps: TopologyDeps = {}): Promise<{ ok: boolean; reason?: string }> {
  const run = deps.exec ?? defaultExec;
  const name = `${prefix}-${newRunId()}-probe`;
  try {
    const r = await run(["ip", "netns", "add", name], { okCodes: "any", timeoutMs: 10_000 });
    if (r.code !== 0) return { ok: false, reason: r.stderr.trim() || `ip netns add exited ${r.code}` };
    await run(["ip", "netns", "del", name], { okCodes: "any", timeoutMs: 10_000 });
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}
