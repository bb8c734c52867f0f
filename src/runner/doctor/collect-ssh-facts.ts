import type { BootConfig } from "../../config/schema.ts";
import type { Exec, ExecResult } from "../../lib/exec.ts";
import { peerName, type RemotePeer, sshArgv, sshFailure } from "../bench/remote-peer.ts";
import { remoteCommand } from "../boot/ssh-connection.ts";
import type { RemotePeerFacts, SshReach, SshTargetFacts } from "./plan-ssh-checks.ts";

/** The doctor's connect timeout: a machine that is up answers well within it. */
const CONNECT_TIMEOUT_SEC = 5;
const STEP = "doctor";

// Fixed scripts: the only value passed is boot.ssh.remoteDir, as a positional argument quoted by remoteCommand.
const TARGET_SCRIPT = [
  'echo "uname=$(uname -r)"',
  'echo "kexec=$(command -v kexec)"',
  "if [ -e /sys/kernel/kexec_loaded ]; then echo kexec_in_kernel=1; fi",
  'if [ -r /proc/sys/kernel/kexec_load_disabled ]; then echo "kexec_load_disabled=$(cat /proc/sys/kernel/kexec_load_disabled)"; fi',
  'if [ -r /sys/kernel/security/lockdown ]; then echo "lockdown=$(cat /sys/kernel/security/lockdown)"; fi',
  // The remote dir may not exist yet: its nearest existing parent holds its disk.
  'd=$1; case $d in /*) ;; *) d=./$d ;; esac',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a JS template
  'while [ ! -d "$d" ]; do d=${d%/*}; [ -z "$d" ] && d=/; done',
  "echo \"free_kb=$(df -Pk \"$d\" 2>/dev/null | awk 'NR==2{print $4}')\"",
].join("\n");

// Only shell builtins besides uname and netserver: what a minimal peer's login PATH has.
const PEER_SCRIPT = [
  'echo "uname=$(uname -r)"',
  'echo "netserver=$(command -v netserver)"',
  'echo "ss=$(command -v ss)"',
  'if command -v netserver >/dev/null; then netserver -V 2>&1 | { read -r l; echo "netserver_version=$l"; }; fi',
].join("\n");

/** Pure: `key=value` lines as the doctor's remote scripts print them; empty values are absent. */
export function parseKeyValues(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const i = line.indexOf("=");
    if (i <= 0) continue;
    const v = line.slice(i + 1).trim();
    if (v !== "") out.set(line.slice(0, i).trim(), v);
  }
  return out;
}

/** Pure: how an ssh exchange ended, from remote-peer's reading of ssh's exit and stderr. */
export function classifySsh(peer: RemotePeer, r: Pick<ExecResult, "code" | "stderr" | "timedOut">): SshReach {
  const f = sshFailure(peer, STEP, r);
  if (f === null) return { kind: "ok" };
  const detail = f.slice(f.indexOf(`${STEP}: `) + STEP.length + 2);
  const inner = /\((.*)\)$/.exec(detail)?.[1] ?? detail;
  if (/host key does not match/.test(detail)) return { kind: "host-key-changed", detail };
  if (/host key is not the one pinned/.test(detail)) return { kind: "host-key-unknown", detail };
  if (detail === "ssh timed out") return { kind: "timeout", detail: `no answer within ${CONNECT_TIMEOUT_SEC + 10} s` };
  if (/login refused/.test(detail)) return { kind: "login-refused", detail: inner };
  return { kind: "unreachable", detail: inner };
}

/** One ssh exchange running `script` with StrictHostKeyChecking=yes against the pinned file; never throws. */
async function probe(peer: RemotePeer, script: string, args: string[], exec: Exec): Promise<{ reach: SshReach; kv: Map<string, string> }> {
  let r: ExecResult;
  try {
    r = await exec(sshArgv(peer, [remoteCommand(["sh", "-c", script, "sh", ...args])]), { okCodes: "any", timeoutMs: (CONNECT_TIMEOUT_SEC + 10) * 1000 });
  } catch (err) {
    const res = (err as { result?: ExecResult }).result;
    if (!res) return { reach: { kind: "unreachable", detail: (err as Error).message }, kv: new Map() };
    r = res;
  }
  const reach = classifySsh(peer, r);
  return { reach, kv: reach.kind === "ok" ? parseKeyValues(r.stdout) : new Map() };
}

const usesKexec = (argv: readonly string[]) => argv.some((a) => a === "kexec" || a.endsWith("/kexec"));

/** Read the ssh boot target: reachable with the pinned key, kexec there, free disk under remoteDir. */
export async function collectSshTargetFacts(cfg: BootConfig["ssh"], exec: Exec): Promise<SshTargetFacts> {
  const base = {
    name: `${cfg.user}@${cfg.host}:${cfg.port}`,
    host: cfg.host,
    port: cfg.port,
    user: cfg.user,
    identityFile: cfg.identityFile,
    knownHostsFile: cfg.knownHostsFile,
    remoteDir: cfg.remoteDir,
    usesKexec: usesKexec([...cfg.switchCommand, ...cfg.rebootCommand]),
    kernel: null,
    kexecBinary: null,
    kexecInKernel: false,
    kexecLoadDisabled: null,
    lockdown: null,
    freeDiskMB: null,
  };
  const missing = !cfg.host ? "host" : !cfg.identityFile ? "identityFile" : !cfg.knownHostsFile ? "knownHostsFile" : null;
  if (missing !== null || !cfg.identityFile || !cfg.knownHostsFile) return { ...base, reach: { kind: "not-configured", missing: missing ?? "host" } };
  const peer: RemotePeer = {
    host: cfg.host,
    port: cfg.port,
    user: cfg.user,
    identityFile: cfg.identityFile,
    knownHostsFile: cfg.knownHostsFile,
    dataAddr: cfg.host,
    netserverPort: 0,
    connectTimeoutSec: CONNECT_TIMEOUT_SEC,
  };
  const { reach, kv } = await probe(peer, TARGET_SCRIPT, [cfg.remoteDir], exec);
  const kb = kv.get("free_kb");
  return {
    ...base,
    name: peerName(peer),
    reach,
    kernel: kv.get("uname") ?? null,
    kexecBinary: kv.get("kexec") ?? null,
    kexecInKernel: kv.get("kexec_in_kernel") === "1",
    kexecLoadDisabled: kv.get("kexec_load_disabled") ?? null,
    lockdown: kv.get("lockdown") ?? null,
    freeDiskMB: kb !== undefined && /^\d+$/.test(kb) ? Math.floor(Number(kb) / 1024) : null,
  };
}

/** Read the remote bench peer: reachable with its pinned key, netserver and ss there. */
export async function collectRemotePeerFacts(peer: RemotePeer, exec: Exec): Promise<RemotePeerFacts> {
  const p = { ...peer, connectTimeoutSec: Math.min(peer.connectTimeoutSec, CONNECT_TIMEOUT_SEC) };
  const { reach, kv } = await probe(p, PEER_SCRIPT, [], exec);
  return {
    name: peerName(peer),
    host: peer.host,
    port: peer.port,
    user: peer.user,
    identityFile: peer.identityFile,
    knownHostsFile: peer.knownHostsFile,
    reach,
    kernel: kv.get("uname") ?? null,
    netserver: kv.get("netserver") ?? null,
    netserverVersion: kv.get("netserver_version") ?? null,
    ss: kv.get("ss") ?? null,
  };
}
