import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { infraError } from "../../lib/errors.ts";
import { type Exec, type ExecResult, exec as defaultExec } from "../../lib/exec.ts";
import type { Logger } from "../../lib/logger.ts";

/**
 * A private netserver per topology, on a port of its own: Debian's package
 * already runs one on 12865 (../shared/design/FACTS.md), and sharing it would
 * mix our runs with anybody else's. `-D` keeps it in the foreground, so the
 * process exec() spawned is netserver itself (`ip netns exec` execs in place)
 * and its PID and exit are ours to watch.
 */

export interface NetserverHandle {
  pid: number;
  port: number;
  addr: string;
  netns: string | null;
  alive(): boolean;
  /** Why it died (exit code/signal and its last words), or null while alive or after stop(). */
  deathReason(): string | null;
  stop(): Promise<void>;
}

export interface NetserverOptions {
  addr: string;
  netns?: string | null;
  /** Default: a free port picked by the kernel on 127.0.0.1. */
  port?: number;
  startTimeoutMs?: number;
}

export interface NetserverDeps {
  exec?: Exec;
  log?: Logger;
}

export function netserverArgv(addr: string, port: number, netns: string | null = null): string[] {
  const argv = netns ? ["ip", "netns", "exec", netns] : [];
  return [...argv, "netserver", "-L", `${addr},inet`, "-p", String(port), "-D"];
}

/** Pure: ports in LISTEN state (st 0A) from a /proc/<pid>/net/tcp table. */
export function parseListeningTcpPorts(procNetTcp: string): number[] {
  const ports: number[] = [];
  for (const line of procNetTcp.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    const local = f[1];
    if (!local || f[3] !== "0A") continue;
    const hex = local.split(":")[1];
    if (hex) ports.push(Number.parseInt(hex, 16));
  }
  return ports;
}

/** A port nobody on the host listens on right now (netns ports are free anyway). */
export async function pickFreePort(): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error("no port"))));
    });
  });
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** The netserver we spawned: a direct child of this process, listening on `port`. */
function findOurNetserver(port: number): number | null {
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const stat = readText(`/proc/${d}/stat`);
    if (!stat) continue;
    // comm may hold spaces/parens: fields after the last ")" are fixed.
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (comm !== "netserver" || ppid !== process.pid) continue;
    const argv = (readText(`/proc/${d}/cmdline`) ?? "").split("\0");
    const i = argv.indexOf("-p");
    if (i >= 0 && argv[i + 1] === String(port)) return Number(d);
  }
  return null;
}

function describeExit(r: ExecResult | undefined, err: unknown): string {
  const res = r ?? (err as { result?: ExecResult } | undefined)?.result;
  if (!res) return `netserver failed: ${(err as Error | undefined)?.message ?? "unknown"}`;
  const how = res.code !== null ? `exited with code ${res.code}` : `was killed by ${res.signal ?? "a signal"}`;
  const words = (res.stdout + res.stderr)
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("Starting netserver"))
    .slice(-2)
    .join(" | ");
  return `netserver ${how}${words ? `: ${words}` : ""}`;
}

export async function startNetserver(options: NetserverOptions, deps: NetserverDeps = {}): Promise<NetserverHandle> {
  const run = deps.exec ?? defaultExec;
  const port = options.port ?? (await pickFreePort());
  const netns = options.netns ?? null;
  const argv = netserverArgv(options.addr, port, netns);
  const ac = new AbortController();
  let stopped = false;
  let exited: string | null = null;
  const done = run(argv, { signal: ac.signal, okCodes: "any", maxOutput: 64 * 1024 }).then(
    (r) => {
      exited = describeExit(r, undefined);
    },
    (err: unknown) => {
      exited = describeExit(undefined, err);
    },
  );
  const deadline = Date.now() + (options.startTimeoutMs ?? 5000);
  let pid: number | null = null;
  while (Date.now() < deadline && exited === null) {
    pid ??= findOurNetserver(port);
    if (pid !== null && parseListeningTcpPorts(readText(`/proc/${pid}/net/tcp`) ?? "").includes(port)) break;
    await sleep(20);
  }
  const stop = async () => {
    stopped = true;
    ac.abort();
    await done;
  };
  if (exited !== null || pid === null) {
    await stop();
    throw infraError(`netserver on ${options.addr}:${port}${netns ? ` in ${netns}` : ""} did not start: ${exited ?? "not listening after timeout"}`);
  }
  const ourPid = pid;
  deps.log?.info({ pid: ourPid, addr: options.addr, port, netns }, "netserver started");
  return {
    pid: ourPid,
    port,
    addr: options.addr,
    netns,
    alive: () => exited === null,
    deathReason: () => (stopped ? null : exited),
    stop: async () => {
      if (exited === null) await stop();
      stopped = true;
      deps.log?.debug({ pid: ourPid, port }, "netserver stopped");
    },
  };
}
