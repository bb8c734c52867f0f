import { basename, join } from "node:path";
import type { BootConfig } from "../../config/schema.ts";
import { type Exec, ExecError, type ExecOptions, type ExecResult, exec as defaultExec } from "../../lib/exec.ts";
import { readBzImageVersion, runsImage } from "./kernel-identity.ts";

/** Pure: one argv as a single remote shell word list (ssh hands the remote side a string). */
export function remoteCommand(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

/** Pure: {kernel} and {probe} placeholders of a configured command. */
export function fillPlaceholders(argv: readonly string[], values: { kernel: string; probe: string }): string[] {
  return argv.map((a) => a.replaceAll("{kernel}", values.kernel).replaceAll("{probe}", values.probe));
}

export type SshConfig = BootConfig["ssh"];

export interface SshConnection {
  dest: string;
  /** Run an argv on the target; any exit code comes back (a dropped connection is 255). */
  ssh(argv: readonly string[], timeoutMs?: number): Promise<ExecResult>;
  /** Copy local files into a remote folder. */
  scp(files: readonly string[], remoteDir: string): Promise<ExecResult>;
  /** The lib/exec contract over ssh (okCodes, timeouts, ExecError), with `cwd` on the target. */
  exec: Exec;
  bootId(): Promise<string | null>;
  /** Wait until the target answers with a boot id other than `before`; null after the deadline. */
  waitBack(before: string | null): Promise<string | null>;
  /** What happened, for the job's log: every command with the tail of its stderr. */
  log: string[];
}

/**
 * One target over SSH: every remote command an argv quoted for the remote shell; the identity
 * file's path is passed to ssh, never its contents; host keys pinned in knownHostsFile (or
 * accepted on first contact into the job's own file when none is configured).
 */
export function sshConnection(cfg: SshConfig, o: { knownHostsFallback: string; exec?: Exec; pollMs?: number; signal?: AbortSignal }): SshConnection {
  const exec = o.exec ?? defaultExec;
  const pollMs = o.pollMs ?? 2000;
  const sig = o.signal ? { signal: o.signal } : {};
  const log: string[] = [];
  const opts = [
    "-o", "BatchMode=yes",
    "-o", "ConnectTimeout=5",
    "-o", "ServerAliveInterval=5",
    "-o", "ServerAliveCountMax=2",
    "-o", `UserKnownHostsFile=${cfg.knownHostsFile ?? o.knownHostsFallback}`,
    "-o", `StrictHostKeyChecking=${cfg.knownHostsFile ? "yes" : "accept-new"}`,
    ...(cfg.identityFile ? ["-i", cfg.identityFile, "-o", "IdentitiesOnly=yes"] : []),
  ];
  const dest = `${cfg.user}@${cfg.host}`;
  // exec passes no ambient variables: an ssh agent is handed over explicitly (identityFile needs none).
  const agent = process.env.SSH_AUTH_SOCK ? { extraEnv: { SSH_AUTH_SOCK: process.env.SSH_AUTH_SOCK } } : {};
  const argvOf = (argv: readonly string[], cwd?: string) => ["ssh", "-p", String(cfg.port), ...opts, dest, "--", remoteCommand(cwd ? ["env", "-C", cwd, ...argv] : argv)];
  const ssh = async (argv: readonly string[], timeoutMs = 120_000): Promise<ExecResult> => {
    log.push(`$ ${remoteCommand(argv)}`);
    try {
      const r = await exec(argvOf(argv), { timeoutMs, okCodes: "any", ...agent, ...sig });
      if (r.stderr.trim()) log.push(r.stderr.trim().split("\n").slice(-3).join("\n"));
      return r;
    } catch (e) {
      if (!(e instanceof ExecError) || o.signal?.aborted) throw e;
      log.push(e.message);
      return e.result;
    }
  };
  const bootId = async (): Promise<string | null> => {
    const r = await ssh(cfg.bootIdCommand, 15_000);
    return r.code === 0 ? r.stdout.trim() : null;
  };
  return {
    dest,
    ssh,
    log,
    bootId,
    scp: async (files, remoteDir) => {
      const r = await exec(["scp", "-q", "-P", String(cfg.port), ...opts, ...files, `${dest}:${remoteDir}/`], { ...agent, timeoutMs: 600_000, okCodes: "any", ...sig });
      log.push(`$ scp ${files.map((f) => basename(f)).join(" ")} -> ${remoteDir}/ (exit ${r.code})`);
      return r;
    },
    exec: (argv: readonly string[], options: ExecOptions = {}) => {
      const { cwd, ...rest } = options;
      return exec(argvOf(argv, cwd), { ...rest, ...agent, ...(o.signal && !rest.signal ? sig : {}) });
    },
    waitBack: async (before) => {
      const deadline = Date.now() + cfg.bootDeadlineSec * 1000;
      while (Date.now() < deadline) {
        const id = await bootId();
        if (id !== null && id !== before) return id;
        await new Promise((r) => setTimeout(r, pollMs));
        if (o.signal?.aborted) throw new Error("aborted");
      }
      return null;
    },
  };
}

export type SwitchResult =
  | { ok: true; before: string; bootId: string; running: string; ms: number; copyMs: number; rebootMs: number }
  | { ok: false; outcome: "error" | "timeout"; reason: string; switched: boolean };

/**
 * Switch the target to a built kernel: copy the image (and `extra` files), install, switch
 * (kexec -l or a one-shot entry), reboot, wait for SSH with a new boot id, and check that
 * /proc/version is this image's build (a new boot id proves a reboot, not which kernel).
 */
export async function switchKernel(c: SshConnection, cfg: SshConfig, k: { label: string; image: string; extra?: readonly string[] }): Promise<SwitchResult> {
  const started = Date.now();
  const before = await c.bootId();
  if (before === null) return { ok: false, outcome: "error", reason: `ssh target ${cfg.host}:${cfg.port} does not answer`, switched: false };
  const kernel = `${cfg.remoteDir}/${basename(k.image)}`;
  const values = { kernel, probe: k.extra?.[0] ? join(cfg.remoteDir, basename(k.extra[0])) : "" };
  if ((await c.ssh(["mkdir", "-p", cfg.remoteDir])).code !== 0) return { ok: false, outcome: "error", reason: `cannot create ${cfg.remoteDir} on the target`, switched: false };
  const copyStart = Date.now();
  const scp = await c.scp([k.image, ...(k.extra ?? [])], cfg.remoteDir);
  const copyMs = Date.now() - copyStart;
  if (scp.code !== 0) return { ok: false, outcome: "error", reason: `copy to the target failed: ${scp.stderr.trim().split("\n").pop() ?? ""}`, switched: false };
  for (const [what, argv] of [["install", cfg.installCommand], ["switch", cfg.switchCommand]] as const) {
    if (argv.length === 0) continue;
    const r = await c.ssh(fillPlaceholders(argv, values), 600_000);
    if (r.code !== 0) return { ok: false, outcome: "error", reason: `${what} command failed (exit ${r.code}): ${r.stderr.trim().split("\n").pop() ?? ""}`, switched: false };
  }
  // The connection drops while the target reboots: any exit code is expected here.
  const rebootStart = Date.now();
  await c.ssh(fillPlaceholders(cfg.rebootCommand, values), 60_000);
  const after = await c.waitBack(before);
  const rebootMs = Date.now() - rebootStart;
  if (after === null) {
    return { ok: false, outcome: "timeout", reason: `ssh target did not come back with a new boot id within ${cfg.bootDeadlineSec} s after the switch to the ${k.label} kernel`, switched: true };
  }
  c.log.push(`boot id ${before} -> ${after}`);
  c.log.push(`switch: copy ${copyMs} ms, reboot to ssh with a new boot id ${rebootMs} ms`);
  const expected = readBzImageVersion(k.image);
  const running = (await c.ssh(["cat", "/proc/version"], 15_000)).stdout.trim();
  c.log.push(`running: ${running}`);
  if (running === "") return { ok: false, outcome: "error", reason: `could not read /proc/version on the target after the switch to the ${k.label} kernel`, switched: true };
  if (expected !== null && !runsImage(expected, running)) {
    return { ok: false, outcome: "error", reason: `the target came up with another kernel than the ${k.label} image: "${running}" (the image is "${expected}")`, switched: true };
  }
  return { ok: true, before, bootId: after, running, ms: Date.now() - started, copyMs, rebootMs };
}

/** Switch back to the target's own default kernel (restoreCommand) and wait for it; a note for the result. */
export async function restoreDefault(c: SshConnection, cfg: SshConfig): Promise<string> {
  const mid = await c.bootId();
  await c.ssh(fillPlaceholders(cfg.restoreCommand, { kernel: "", probe: "" }), 60_000);
  const back = await c.waitBack(mid);
  return back === null ? `WARNING: the target did not come back from the switch back within ${cfg.bootDeadlineSec} s` : "switched back";
}
