import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { infraError, inputError } from "../../lib/errors.ts";
import { type Exec, exec as defaultExec } from "../../lib/exec.ts";
import type { Logger } from "../../lib/logger.ts";
import { isPidAlive } from "../../lib/is-pid-alive.ts";
import { ownerPidOf, validatePrefix } from "./topology.ts";

/**
 * BPF variants on one kernel: a sock_ops program attached to a child cgroup v2
 * (bpftool), and a tc-BPF program on a veth's egress (iproute2, inside our own
 * namespaces). Every object we create is named `<prefix>-<ownerPid>-<hex>`, so
 * what a crashed run leaves behind (cgroups with programs attached, pinned
 * programs) is found and removed by `cleanupStaleBpf` on the next start, the
 * same way `cleanupStale` removes namespaces. tc programs live in our
 * namespaces and die with them.
 */

export interface BpfDeps {
  exec?: Exec;
  log?: Logger;
  /** Contents of /proc/mounts (tests). */
  procMounts?: string;
  /** bpffs mount. Default /sys/fs/bpf. */
  bpffs?: string;
}

/** Pure: the cgroup v2 mount point from /proc/mounts (hybrid layouts mount it at …/unified). */
export function findCgroup2Mount(procMounts: string): string | null {
  for (const line of procMounts.split("\n")) {
    const f = line.split(" ");
    if (f[2] === "cgroup2" && f[1]) return f[1];
  }
  return null;
}

export interface BenchCgroup {
  path: string;
  name: string;
}

function cgroupRoot(deps: BpfDeps): string {
  const mounts = deps.procMounts ?? readFileSync("/proc/mounts", "utf8");
  const root = findCgroup2Mount(mounts);
  if (!root) throw infraError("no cgroup v2 mount in /proc/mounts", "bpf-cgroup variants need cgroup v2");
  return root;
}

/** A child cgroup v2 for this run: netserver and every netperf of the run are moved into it. */
export function createBenchCgroup(options: { prefix: string; runId: string }, deps: BpfDeps = {}): BenchCgroup {
  validatePrefix(options.prefix);
  const name = `${options.prefix}-${options.runId}-cg`;
  const path = join(cgroupRoot(deps), name);
  try {
    mkdirSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw infraError(`cannot create cgroup ${path}: ${(err as Error).message}`);
  }
  deps.log?.debug({ path }, "bench cgroup created");
  return { path, name };
}

/** Move a process into the cgroup (children it forks later are born inside). */
export function moveToCgroup(cg: BenchCgroup, pid: number): void {
  writeFileSync(join(cg.path, "cgroup.procs"), String(pid));
}

/**
 * argv that runs `argv` inside the cgroup. The shell script is a constant: the
 * cgroup path and the command arrive as positional arguments ("$1", "$@"),
 * never interpolated into the script, so nothing is parsed by the shell.
 */
export function inCgroupArgv(cg: BenchCgroup | null, argv: readonly string[]): string[] {
  if (!cg) return [...argv];
  return ["sh", "-c", 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', "sh", cg.path, ...argv];
}

export interface AttachedSockops {
  cgroup: BenchCgroup;
  pinPath: string;
}

/** Load the object's sock_ops program, pin it under our name and attach it to the cgroup. */
export async function attachSockops(
  cg: BenchCgroup,
  object: string,
  program: string | null,
  deps: BpfDeps = {},
): Promise<AttachedSockops> {
  const run = deps.exec ?? defaultExec;
  const pinPath = join(deps.bpffs ?? "/sys/fs/bpf", `${cg.name}-${program ?? "sockops"}`);
  rmSync(pinPath, { force: true });
  const load = await run(["bpftool", "prog", "load", object, pinPath, "type", "sockops"], { okCodes: "any", timeoutMs: 30_000 });
  if (load.code !== 0) throw infraError(`bpftool could not load ${object}: ${(load.stderr || load.stdout).trim().split("\n").slice(-3).join(" ")}`);
  const att = await run(["bpftool", "cgroup", "attach", cg.path, "sock_ops", "pinned", pinPath], { okCodes: "any", timeoutMs: 15_000 });
  if (att.code !== 0) {
    rmSync(pinPath, { force: true });
    throw infraError(`bpftool could not attach ${object} to ${cg.path}: ${(att.stderr || att.stdout).trim()}`);
  }
  deps.log?.debug({ object, cgroup: cg.path, pinPath }, "sock_ops attached");
  return { cgroup: cg, pinPath };
}

export async function detachSockops(a: AttachedSockops, deps: BpfDeps = {}): Promise<void> {
  const run = deps.exec ?? defaultExec;
  const r = await run(["bpftool", "cgroup", "detach", a.cgroup.path, "sock_ops", "pinned", a.pinPath], { okCodes: "any", timeoutMs: 15_000 });
  rmSync(a.pinPath, { force: true });
  if (r.code !== 0) throw infraError(`bpftool could not detach sock_ops from ${a.cgroup.path}: ${(r.stderr || r.stdout).trim()}`);
}

/** Kill what is left inside the cgroup and remove it (attached programs go with it). */
export async function removeBenchCgroup(cg: BenchCgroup, deps: BpfDeps = {}): Promise<void> {
  await removeCgroupDir(cg.path, deps.log);
}

async function removeCgroupDir(path: string, log?: Logger): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    let pids: number[] = [];
    try {
      pids = readFileSync(join(path, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
    } catch {
      return; // gone
    }
    for (const p of pids) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
    try {
      rmdirSync(path);
      log?.debug({ path }, "cgroup removed");
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw infraError(`cannot remove cgroup ${path}: processes still inside`);
}

/** Remove cgroups and pinned programs named after a dead owner. Returns what was removed. */
export async function cleanupStaleBpf(
  prefix: string,
  deps: BpfDeps & { isAlive?: (pid: number) => boolean } = {},
): Promise<string[]> {
  validatePrefix(prefix);
  const alive = deps.isAlive ?? isPidAlive;
  const removed: string[] = [];
  const mounts = deps.procMounts ?? readFileSync("/proc/mounts", "utf8");
  const root = findCgroup2Mount(mounts);
  const dead = (name: string) => {
    const owner = ownerPidOf(name, prefix);
    return owner !== null && !alive(owner);
  };
  if (root) {
    for (const e of readdirSync(root, { withFileTypes: true })) {
      if (!e.isDirectory() || !dead(e.name)) continue;
      await removeCgroupDir(join(root, e.name), deps.log);
      removed.push(join(root, e.name));
    }
  }
  const bpffs = deps.bpffs ?? "/sys/fs/bpf";
  if (existsSync(bpffs)) {
    for (const e of readdirSync(bpffs)) {
      // pins are `<prefix>-<pid>-<hex>-cg-<program>`
      const m = /^(.*-cg)-[A-Za-z0-9_]+$/.exec(e);
      if (!m || !dead(m[1]!)) continue;
      rmSync(join(bpffs, e), { force: true });
      removed.push(join(bpffs, e));
    }
  }
  if (removed.length > 0) deps.log?.warn({ removed }, "removed BPF leftovers of a dead run");
  return removed;
}

export interface AttachedTc {
  netns: string;
  dev: string;
}

/** `tc qdisc add dev X clsact` + `tc filter add dev X egress bpf da obj O sec S`, inside the namespace. */
export async function attachTcEgress(netns: string, dev: string, object: string, section: string, deps: BpfDeps = {}): Promise<AttachedTc> {
  const run = deps.exec ?? defaultExec;
  const tc = (...args: string[]) => ["ip", "netns", "exec", netns, "tc", ...args];
  await run(tc("qdisc", "del", "dev", dev, "clsact"), { okCodes: "any", timeoutMs: 10_000 });
  const q = await run(tc("qdisc", "add", "dev", dev, "clsact"), { okCodes: "any", timeoutMs: 10_000 });
  if (q.code !== 0) throw infraError(`tc qdisc add clsact on ${dev} in ${netns}: ${q.stderr.trim()}`);
  const f = await run(tc("filter", "add", "dev", dev, "egress", "bpf", "da", "obj", object, "sec", section), { okCodes: "any", timeoutMs: 30_000 });
  if (f.code !== 0) {
    await run(tc("qdisc", "del", "dev", dev, "clsact"), { okCodes: "any", timeoutMs: 10_000 });
    throw infraError(`tc could not attach ${object} sec ${section} to ${dev} egress: ${(f.stderr || f.stdout).trim().split("\n").slice(-3).join(" ")}`);
  }
  deps.log?.debug({ netns, dev, object, section }, "tc-bpf attached");
  return { netns, dev };
}

export async function detachTcEgress(a: AttachedTc, deps: BpfDeps = {}): Promise<void> {
  const run = deps.exec ?? defaultExec;
  const r = await run(["ip", "netns", "exec", a.netns, "tc", "qdisc", "del", "dev", a.dev, "clsact"], { okCodes: "any", timeoutMs: 10_000 });
  if (r.code !== 0 && !/No such file|Cannot find/.test(r.stderr)) throw infraError(`tc qdisc del clsact on ${a.dev}: ${r.stderr.trim()}`);
}

/**
 * A tc egress program that busy-waits `delayUs` per packet (bpf_loop keeps
 * the verifier happy with a long wait) and passes the packet on: a known,
 * controlled regression for validating the bench (no netem here, FACTS.md).
 */
export const BUSY_WAIT_SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct wait_ctx { __u64 start; };
static long spin(__u64 i, void *data) {
  struct wait_ctx *c = data;
  return bpf_ktime_get_ns() - c->start >= DELAY_NS ? 1 : 0;
}
SEC("tc")
int busy_wait(struct __sk_buff *skb) {
  struct wait_ctx c = { .start = bpf_ktime_get_ns() };
  bpf_loop(1 << 23, spin, &c, 0);
  return 0; /* TC_ACT_OK */
}
char LICENSE[] SEC("license") = "GPL";
`;

/** clang argv for a BPF object (the multiarch include dir holds asm/types.h on Debian). */
export function clangBpfArgv(source: string, out: string, defines: Record<string, string> = {}): string[] {
  const d = Object.entries(defines).map(([k, v]) => {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(k) || !/^[0-9]+$/.test(v)) throw inputError(`bad define ${k}=${v}`);
    return `-D${k}=${v}`;
  });
  return ["clang", "-O2", "-g", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", ...d, "-c", source, "-o", out];
}

/** Compile the busy-wait program for `delayUs` µs into `dir`; returns the object path. */
export async function buildBusyWaitObject(delayUs: number, dir: string, deps: BpfDeps = {}): Promise<string> {
  if (!Number.isInteger(delayUs) || delayUs < 0 || delayUs > 100_000) throw inputError(`delay ${delayUs} µs must be an integer in 0..100000`);
  const run = deps.exec ?? defaultExec;
  const src = join(dir, `busy-wait-${delayUs}us.c`);
  const out = join(dir, `busy-wait-${delayUs}us.o`);
  writeFileSync(src, BUSY_WAIT_SOURCE);
  const r = await run(clangBpfArgv(src, out, { DELAY_NS: String(delayUs * 1000) }), { okCodes: "any", timeoutMs: 60_000 });
  if (r.code !== 0) throw infraError(`clang could not build the busy-wait program: ${r.stderr.trim().split("\n").slice(0, 3).join(" ")}`, "install clang and libbpf-dev");
  return out;
}

/**
 * A sock_ops program that asks for SO_BUSY_POLL = `busyPollUs` on every
 * established TCP socket of the cgroup (what the series under review enables;
 * a stock kernel answers -EINVAL and the program is then a no-op, FACTS.md).
 */
export const SOCKOPS_BUSY_POLL_SOURCE = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#define SOL_SOCKET 1
#define SO_BUSY_POLL 46
__s64 last_ret = 0;
SEC("sockops")
int set_busy_poll(struct bpf_sock_ops *skops) {
  if (skops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB || skops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB) {
    int v = BUSY_POLL_US;
    last_ret = bpf_setsockopt(skops, SOL_SOCKET, SO_BUSY_POLL, &v, sizeof(v));
  }
  return 1;
}
char LICENSE[] SEC("license") = "GPL";
`;

export async function buildSockopsBusyPollObject(busyPollUs: number, dir: string, deps: BpfDeps = {}): Promise<string> {
  const run = deps.exec ?? defaultExec;
  const src = join(dir, `sockops-busy-poll-${busyPollUs}.c`);
  const out = join(dir, `sockops-busy-poll-${busyPollUs}.o`);
  writeFileSync(src, SOCKOPS_BUSY_POLL_SOURCE);
  const r = await run(clangBpfArgv(src, out, { BUSY_POLL_US: String(busyPollUs) }), { okCodes: "any", timeoutMs: 60_000 });
  if (r.code !== 0) throw infraError(`clang could not build the sock_ops program: ${r.stderr.trim().split("\n").slice(0, 3).join(" ")}`);
  return out;
}
