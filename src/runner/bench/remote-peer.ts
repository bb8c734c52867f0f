import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { infraError } from "../../lib/errors.ts";
import { type Exec, type ExecResult, exec as defaultExec } from "../../lib/exec.ts";
import type { Logger } from "../../lib/logger.ts";
import type { NetserverHandle } from "./netserver.ts";

/**
 * The `remote` topology's far end: netserver on a second machine, started and stopped over
 * ssh. The remote command is a fixed list of words; the only values in it are the data
 * address (an IP literal), the port and a pid (integers), all checked before use, so the
 * peer's login shell sees nothing it could interpret. Host keys come only from the pinned
 * known_hosts file: an unknown or changed key is refused, never learned.
 */
export interface RemotePeer {
  /** ssh address of the peer (name or IP). */
  host: string;
  port: number;
  user: string;
  identityFile: string;
  knownHostsFile: string;
  /** Address netperf targets and netserver listens on (the peer's NIC on the data network). */
  dataAddr: string;
  /** Port netserver listens on there. */
  netserverPort: number;
  connectTimeoutSec: number;
}

export interface RemotePeerDeps {
  exec?: Exec;
  log?: Logger;
}

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
export const isIpv4 = (s: string): boolean => IPV4_RE.test(s);

/**
 * Pure: the ssh argv running `remote` (fixed words) on the peer; batch mode, pinned host key, no
 * user config. `tty`: a pseudo-terminal, so the peer hangs the command up when the session ends
 * (a runner that dies leaves no netserver behind).
 */
export function sshArgv(peer: RemotePeer, remote: readonly string[], options: { tty?: boolean } = {}): string[] {
  return [
    "ssh",
    ...(options.tty ? ["-tt"] : []),
    "-F",
    "/dev/null",
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `UserKnownHostsFile=${peer.knownHostsFile}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "UpdateHostKeys=no",
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    `ConnectTimeout=${peer.connectTimeoutSec}`,
    "-o",
    "ServerAliveInterval=5",
    "-o",
    "ServerAliveCountMax=3",
    "-i",
    peer.identityFile,
    "-p",
    String(peer.port),
    "-l",
    peer.user,
    peer.host,
    "--",
    ...remote,
  ];
}

/** Pure: the remote words that run netserver in the foreground (its exit ends the ssh session). */
export function remoteNetserverCommand(addr: string, port: number, token: string): string[] {
  if (!isIpv4(addr)) throw infraError(`remote data address ${JSON.stringify(addr)} is not an IPv4 address`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw infraError(`remote netserver port ${port} is out of range`);
  if (!/^[0-9a-f]{16}$/.test(token)) throw infraError("remote netserver token must be 16 hex digits");
  // env execs netserver in place (the session's pid stays netserver's); the token in its
  // environment tells our netserver from another runner's on the same peer and port.
  return ["exec", "env", `PATCHBENCH_NETSERVER=${token}`, "netserver", "-L", `${addr},inet`, "-p", String(port), "-D"];
}

/** Is the process `pid` on the peer the netserver started with `token` (its environment says so)? */
async function isOurs(peer: RemotePeer, pid: number, token: string, run: Exec): Promise<boolean> {
  const r = await sshRun(peer, "checking netserver", ["grep", "-qz", `PATCHBENCH_NETSERVER=${token}`, `/proc/${pid}/environ`], run);
  return r.code === 0;
}

export const peerName = (p: RemotePeer): string => `${p.user}@${p.host}:${p.port}`;

/**
 * Pure: what a failed ssh exchange means, in words naming the peer and the step; null when ssh
 * itself worked (exit code other than 255) and the remote command failed.
 */
export function sshFailure(peer: RemotePeer, step: string, r: Pick<ExecResult, "code" | "stderr" | "timedOut">): string | null {
  const who = `remote peer ${peerName(peer)}`;
  const err = r.stderr;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed|No \S+ host key is known/.test(err)) {
    const changed = /HAS CHANGED/.test(err);
    return `${who}, ${step}: host key ${changed ? "does not match" : "is not"} the one pinned in ${peer.knownHostsFile}; refused (check the peer, then update the pinned key by hand)`;
  }
  if (r.timedOut) return `${who}, ${step}: ssh timed out`;
  if (r.code !== 255) return null;
  const last = err.trim().split("\n").filter((l) => l.trim() !== "").slice(-1)[0] ?? "ssh exited 255";
  if (/Permission denied/.test(err)) return `${who}, ${step}: ssh login refused (${last})`;
  return `${who}, ${step}: unreachable (${last})`;
}

async function sshRun(peer: RemotePeer, step: string, remote: readonly string[], run: Exec, timeoutMs = 15_000): Promise<ExecResult> {
  let r: ExecResult;
  try {
    r = await run(sshArgv(peer, remote), { okCodes: "any", timeoutMs });
  } catch (err) {
    const res = (err as { result?: ExecResult }).result;
    if (!res) throw infraError(`remote peer ${peerName(peer)}, ${step}: ${(err as Error).message}`);
    r = res;
  }
  const f = sshFailure(peer, step, r);
  if (f) throw infraError(f);
  return r;
}

/** The peer's `uname -r` (the far end's kernel, stated in the report). */
export async function readPeerKernel(peer: RemotePeer, deps: RemotePeerDeps = {}): Promise<string> {
  const r = await sshRun(peer, "reading its kernel", ["uname", "-r"], deps.exec ?? defaultExec);
  const k = r.stdout.trim();
  if (r.code !== 0 || k === "") throw infraError(`remote peer ${peerName(peer)}, reading its kernel: uname -r exited ${r.code}: ${r.stderr.trim()}`);
  return k;
}

/** Pure: the pid of the process listening on `port` from `ss -Hltnp` output, or null. */
export function parseSsListenerPid(stdout: string, port: number): number | null {
  for (const line of stdout.split("\n")) {
    const f = line.trim().split(/\s+/);
    const local = f[3] ?? "";
    if (!local.endsWith(`:${port}`)) continue;
    const m = /pid=(\d+)/.exec(line);
    if (m) return Number(m[1]);
  }
  return null;
}

async function listenerPid(peer: RemotePeer, run: Exec): Promise<number | null> {
  const r = await sshRun(peer, "looking for netserver", ["ss", "-H", "-l", "-t", "-n", "-p", "sport", "=", `:${peer.netserverPort}`], run);
  return r.code === 0 ? parseSsListenerPid(r.stdout, peer.netserverPort) : null;
}

function describeEnd(r: ExecResult | undefined, err: unknown): string {
  const res = r ?? (err as { result?: ExecResult } | undefined)?.result;
  if (!res) return `netserver failed: ${(err as Error | undefined)?.message ?? "unknown"}`;
  const words = (res.stdout + res.stderr)
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("Starting netserver") && !/^Connection to \S+ closed\.$/.test(l))
    .slice(-2)
    .join(" | ");
  if (res.code === 127 || /netserver: (command )?not found/.test(words)) return `netserver is not installed there (${words || "exit 127"})`;
  const how = res.code !== null ? `exited with code ${res.code}` : `ended by ${res.signal ?? "a signal"}`;
  return `netserver ${how}${words ? `: ${words}` : ""}`;
}

/**
 * netserver on the peer, in the foreground of one ssh session: when it dies the session ends
 * and alive() says so (ensureNetserver restarts it once). Its pid, as the peer reports it
 * (ss), is what stop() kills, and stop() checks it is gone.
 */
export async function startRemoteNetserver(peer: RemotePeer, deps: RemotePeerDeps & { startTimeoutMs?: number } = {}): Promise<NetserverHandle> {
  const run = deps.exec ?? defaultExec;
  const who = `remote peer ${peerName(peer)}`;
  const before = await listenerPid(peer, run);
  if (before !== null) throw infraError(`${who}, starting netserver: port ${peer.netserverPort} is already taken there (pid ${before}); is another bench running against it?`);
  const ac = new AbortController();
  let ended: string | null = null;
  let stopped = false;
  const token = randomBytes(8).toString("hex");
  const done = run(sshArgv(peer, remoteNetserverCommand(peer.dataAddr, peer.netserverPort, token), { tty: true }), { signal: ac.signal, okCodes: "any", maxOutput: 64 * 1024 }).then(
    (r) => {
      // ssh exits 255 when the remote command was killed by a signal (exit-signal), saying only
      // that the (tty) session closed.
      const said = r.stderr.split(/\r?\n/).filter((l) => l.trim() !== "" && !/^Connection to \S+ closed\.\r?$/.test(l.trim()));
      const killed = r.code === 255 && said.length === 0 && !r.timedOut;
      ended = killed ? "netserver was killed by a signal (ssh exited 255)" : (sshFailure(peer, "running netserver", r) ?? describeEnd(r, undefined));
    },
    (err: unknown) => {
      ended = describeEnd(undefined, err);
    },
  );
  const deadline = Date.now() + (deps.startTimeoutMs ?? 10_000);
  let pid: number | null = null;
  while (Date.now() < deadline && ended === null && pid === null) {
    await sleep(100);
    if (ended !== null) break;
    const seen = await listenerPid(peer, run).catch(() => null);
    // Another runner's netserver that took the port meanwhile is never adopted (nor later killed).
    if (seen !== null && (await isOurs(peer, seen, token, run).catch(() => false))) pid = seen;
  }
  if (pid === null) {
    ac.abort();
    await done;
    throw infraError(`${who}, starting netserver on ${peer.dataAddr}:${peer.netserverPort}: ${ended ?? "not listening after the timeout"}`);
  }
  const ourPid = pid;
  deps.log?.info({ peer: peerName(peer), pid: ourPid, addr: peer.dataAddr, port: peer.netserverPort }, "remote netserver started");
  const kill = async () => {
    // The pid came from the peer; kill only it, then wait for the port to be free.
    await sshRun(peer, "stopping netserver", ["kill", String(ourPid)], run).catch(() => undefined);
    for (let i = 0; i < 30; i++) {
      const p = await listenerPid(peer, run);
      if (p !== ourPid) break;
      await sleep(100);
    }
    ac.abort();
    await done;
    const left = await listenerPid(peer, run);
    if (left === ourPid) throw infraError(`${who}, stopping netserver: pid ${ourPid} still listens on ${peer.netserverPort}`);
  };
  return {
    pid: ourPid,
    port: peer.netserverPort,
    addr: peer.dataAddr,
    netns: null,
    alive: () => ended === null,
    deathReason: () => (stopped || ended === null ? null : ended.startsWith(who) ? ended : `${who}: ${ended}`),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      // A netserver that already died is not killed by its old pid (it may belong to another process by now).
      if (ended === null) await kill();
      else if ((await listenerPid(peer, run)) === ourPid) throw infraError(`${who}, stopping netserver: pid ${ourPid} still listens on ${peer.netserverPort}`);
      deps.log?.debug({ peer: peerName(peer), pid: ourPid }, "remote netserver stopped");
    },
  };
}
