import { chmodSync, existsSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { type Exec, ExecError, type ExecOptions, type ExecResult, exec as defaultExec } from "./exec.ts";
import { infraError } from "./errors.ts";
import { GIT_ENV } from "./git.ts";
import type { Logger } from "./logger.ts";

/**
 * The one way patch-controlled code runs (a tree's scripts/checkpatch.pl,
 * `make` of a kernel, anything read from a worktree): as an unprivileged
 * user, inside bubblewrap, with no network, an empty environment plus what
 * the caller names, resource limits, and a filesystem where only the job's
 * own worktree is writable and the data dir, work dir, outbox, store and
 * config are empty tmpfs.
 *
 * Why a real uid and not only bwrap's `--uid` in a user namespace: bwrap
 * started by root maps the sandbox uid to root outside, so file access is
 * still checked against uid 0 and root's 0600 files stay readable (measured
 * here: `bwrap --uid 65534 … cat /root/secret` printed it). So the runner
 * drops to the sandbox user with setpriv (no groups, no capabilities, no
 * new privileges) and then starts bwrap unprivileged.
 */
export interface SandboxLimits {
  /** RLIMIT_CPU of each process, seconds. */
  cpuSec: number;
  /** RLIMIT_AS of each process, MiB. */
  memoryMB: number;
  /** RLIMIT_NPROC of the sandbox user. */
  maxProcs: number;
  /** RLIMIT_FSIZE: largest file a process may write, MiB. */
  maxFileMB: number;
  /** Size of the sandbox's own /tmp (a tmpfs in memory), MiB. */
  tmpMB: number;
  /** Most disk the writable folders may hold after a step, MiB (checked with du). */
  diskMB: number;
}

export interface SandboxSettings {
  mode: "bwrap" | "none";
  /** The dedicated user (scripts/setup-system.sh creates it); missing: uid/gid 65534. */
  user: string;
  limits: SandboxLimits;
  /** Paths the sandbox must not see (folders become empty tmpfs, files /dev/null). */
  hide: readonly string[];
}

export interface SandboxIdentity {
  uid: number;
  gid: number;
  /** "user": the configured user; "nobody": 65534 because it does not exist; "self": not root, no switch. */
  source: "user" | "nobody" | "self";
  name: string;
}

export interface SandboxRun extends Omit<ExecOptions, "env" | "extraEnv" | "cwd"> {
  cwd: string;
  /** Bound read-write (a job's worktree, the ccache dir); must be prepared with `prepareWritable`. */
  writable?: readonly string[];
  /** Bound read-only over the hidden paths (the tree's mirror, a job's inputs). */
  readOnly?: readonly string[];
  /** Folders counted against limits.diskMB after the step (default: `writable`; a shared cache is not the job's). */
  measure?: readonly string[];
  /** The whole environment besides the sandbox's base (PATH, HOME=/tmp, LC_ALL, TERM, TZ, git isolation). */
  env?: Record<string, string>;
  /** Bound from the host's /dev (e.g. /dev/kvm for a QEMU boot). */
  devices?: readonly string[];
}

export interface Sandbox {
  mode: SandboxSettings["mode"];
  identity: SandboxIdentity;
  /** Run an argv (never a shell string) in the sandbox; throws ExecError like exec, also when diskMB is exceeded. */
  run(argv: readonly string[], opts: SandboxRun): Promise<ExecResult>;
  /** Hand folders to the sandbox user (chown -R, not following symlinks) before a step writes in them. */
  prepareWritable(paths: readonly string[]): Promise<void>;
  /**
   * The argv that starts a long-lived process (a QEMU guest) in the sandbox, for
   * lib/start-process; `devices` are bound from the host's /dev (e.g. /dev/kvm).
   */
  wrap(argv: readonly string[], opts: Pick<SandboxRun, "cwd" | "writable" | "readOnly" | "env" | "devices"> & { hostOwnership?: boolean }): string[];
  /** One line for logs and results. */
  describe: string;
}

export const SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";

/** Parse /etc/passwd for `user`; a missing user means uid/gid 65534 (Debian's nobody/nogroup). */
export function resolveSandboxIdentity(user: string, opts: { passwd?: string; euid?: number } = {}): SandboxIdentity {
  const euid = opts.euid ?? process.geteuid?.() ?? 0;
  if (euid !== 0) return { uid: euid, gid: process.getegid?.() ?? euid, source: "self", name: `uid ${euid}` };
  const passwd = opts.passwd ?? (existsSync("/etc/passwd") ? readFileSync("/etc/passwd", "utf8") : "");
  for (const line of passwd.split("\n")) {
    const [name, , uid, gid] = line.split(":");
    if (name === user && uid && gid && Number(uid) !== 0) return { uid: Number(uid), gid: Number(gid), source: "user", name: user };
  }
  return { uid: 65534, gid: 65534, source: "nobody", name: "uid 65534" };
}

/** argv prefix that drops root to the sandbox identity (nothing when already unprivileged). */
export function dropPrivilegesArgv(id: SandboxIdentity): string[] {
  if (id.source === "self") return [];
  return [
    "setpriv",
    `--reuid=${id.uid}`,
    `--regid=${id.gid}`,
    "--clear-groups",
    "--inh-caps=-all",
    "--bounding-set=-all",
    "--no-new-privs",
    "--",
  ];
}

/** argv prefix that applies the per-process limits (prlimit keeps the argv form). */
export function limitsArgv(l: SandboxLimits): string[] {
  const mib = (n: number) => String(n * 1024 * 1024);
  return [
    "prlimit",
    `--cpu=${l.cpuSec}`,
    `--as=${mib(l.memoryMB)}`,
    `--nproc=${l.maxProcs}`,
    `--fsize=${mib(l.maxFileMB)}`,
    "--nofile=4096",
    "--core=0",
    "--",
  ];
}

/** The sandbox's environment: nothing inherited, a fixed base plus what the caller names. */
export function sandboxEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: SANDBOX_PATH,
    HOME: "/tmp",
    LC_ALL: "C",
    TERM: "dumb",
    TZ: "UTC",
    // Git inside reads the root-owned mirror a worktree points to; the sandbox user may trust it
    // (the reverse — root trusting a sandbox-owned repository — never happens: see job-worktree).
    GIT_CONFIG_NOSYSTEM: GIT_ENV.GIT_CONFIG_NOSYSTEM!,
    GIT_CONFIG_GLOBAL: GIT_ENV.GIT_CONFIG_GLOBAL!,
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: "safe.directory",
    GIT_CONFIG_VALUE_0: "*",
    ...extra,
  };
}

function kindOf(p: string): "dir" | "file" | null {
  try {
    return statSync(p).isDirectory() ? "dir" : "file";
  } catch {
    return null;
  }
}

/**
 * Pure: the full argv of one sandboxed run. Order matters to bwrap: the
 * whole system read-only, then fresh /tmp, /run (unix sockets of other
 * services live there: network namespaces do not isolate them), /var/tmp,
 * /home, /root, then the hidden paths, then the binds that punch through them.
 */
export function sandboxArgv(
  argv: readonly string[],
  run: Pick<SandboxRun, "cwd" | "writable" | "readOnly" | "env" | "devices"> & {
    /**
     * Keep the host's file ownership visible (no user namespace): bwrap runs as root and drops to
     * the sandbox user inside. For QEMU, whose 9p share must show root-owned files as root's.
     */
    hostOwnership?: boolean;
  },
  settings: Pick<SandboxSettings, "limits" | "hide">,
  id: SandboxIdentity,
  kind: (p: string) => "dir" | "file" | null = kindOf,
): string[] {
  const hidden = [...new Set(settings.hide.map((p) => resolve(p)))].sort((a, b) => a.length - b.length);
  const mounts: string[] = [
    "--ro-bind", "/", "/",
    "--dev", "/dev",
    "--proc", "/proc",
    "--size", String(settings.limits.tmpMB * 1024 * 1024), "--tmpfs", "/tmp",
    "--tmpfs", "/run",
    "--tmpfs", "/var/tmp",
    "--tmpfs", "/home",
    "--tmpfs", "/root",
  ];
  for (const p of hidden) {
    if (["/", "/tmp", "/run", "/var/tmp", "/home", "/root"].includes(p)) continue;
    const k = kind(p);
    if (k === "dir") mounts.push("--tmpfs", p);
    else if (k === "file") mounts.push("--ro-bind", "/dev/null", p);
  }
  for (const p of run.readOnly ?? []) mounts.push("--ro-bind", resolve(p), resolve(p));
  for (const p of run.writable ?? []) mounts.push("--bind", resolve(p), resolve(p));
  for (const d of run.devices ?? []) mounts.push("--dev-bind", d, d);
  const env = sandboxEnv(run.env);
  const envArgs = Object.entries(env).flatMap(([k, v]) => ["--setenv", k, v]);
  const bwrap = (unshare: readonly string[]) => [
    "bwrap",
    "--die-with-parent",
    "--new-session",
    ...unshare,
    "--hostname", "patchbench-sandbox",
    ...mounts,
    "--clearenv",
    ...envArgs,
    "--chdir", resolve(run.cwd),
    "--",
  ];
  // With host ownership bwrap keeps the host's uids (no user namespace) and privileges are dropped
  // inside it; otherwise they are dropped first and bwrap runs in a user namespace of its own.
  if (run.hostOwnership) {
    const unshare = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"];
    return [...limitsArgv(settings.limits), ...bwrap(unshare), ...dropPrivilegesArgv(id), ...argv];
  }
  return [...limitsArgv(settings.limits), ...dropPrivilegesArgv(id), ...bwrap(["--unshare-all", "--unshare-user", "--disable-userns"]), ...argv];
}

/**
 * bwrap resolves bind sources as the sandbox user, so a bound folder and
 * every folder above it must be searchable (o+x) by it. Inside the sandbox those folders
 * are empty tmpfs, so search permission on patchbench's own folders (the
 * hidden ones) gives the sandbox nothing; it is added there. Elsewhere it is
 * the operator's choice: refuse with a clear message.
 */
export function ensureTraversable(paths: readonly string[], own: readonly string[], id: SandboxIdentity): void {
  if (id.source === "self") return;
  const ours = own.map((p) => resolve(p));
  for (const p of paths) {
    // A bound file needs its folders searchable, not an x bit of its own.
    const start = kindOf(resolve(p)) === "file" ? dirname(resolve(p)) : resolve(p);
    for (let d = start; ; d = dirname(d)) {
      const st = statSync(d);
      const reachable = (st.mode & 0o001) !== 0 || (st.uid === id.uid && (st.mode & 0o100) !== 0) || (st.gid === id.gid && (st.mode & 0o010) !== 0);
      if (!reachable) {
        if (ours.some((o) => d === o || d.startsWith(`${o}/`))) chmodSync(d, st.mode | 0o001);
        else throw infraError(`the sandbox user cannot reach ${p}: ${d} is not searchable by others`, `chmod o+x ${d}, or move runner.workDir`);
      }
      if (d === "/") break;
    }
  }
}

/** Bytes on disk under `paths` (du -s, one filesystem), for the diskMB check. */
async function diskBytes(exec: Exec, paths: readonly string[]): Promise<number> {
  const r = await exec(["du", "-s", "-x", "-B1", "--", ...paths], { okCodes: "any", timeoutMs: 600_000 });
  return r.stdout
    .split("\n")
    .map((l) => Number(l.split("\t")[0]))
    .filter((n) => Number.isFinite(n))
    .reduce((a, b) => a + b, 0);
}

export function createSandbox(settings: SandboxSettings, deps: { exec?: Exec; log?: Logger; identity?: SandboxIdentity } = {}): Sandbox {
  const exec = deps.exec ?? defaultExec;
  const identity = deps.identity ?? resolveSandboxIdentity(settings.user);
  const describe =
    settings.mode === "none"
      ? "NO SANDBOX (runner.sandbox: none): patch-controlled code runs with the runner's own privileges"
      : `bwrap as ${identity.name}${identity.source === "nobody" ? ` (user ${settings.user} does not exist; run scripts/setup-system.sh)` : ""}`;
  if (settings.mode === "none") deps.log?.warn({ sandbox: "none" }, describe);
  else if (identity.source !== "user") deps.log?.warn({ sandbox: describe }, "sandbox runs without its dedicated user");

  const checkDisk = async (argv: readonly string[], opts: SandboxRun, result: ExecResult) => {
    const measured = opts.measure ?? opts.writable ?? [];
    if (measured.length === 0) return;
    const bytes = await diskBytes(exec, measured);
    const max = settings.limits.diskMB * 1024 * 1024;
    if (bytes > max) {
      throw new ExecError(
        `${argv[0]}: the sandbox's writable folders hold ${Math.round(bytes / 1048576)} MiB, over runner.sandboxLimits.diskMB=${settings.limits.diskMB}`,
        result,
      );
    }
  };

  return {
    mode: settings.mode,
    identity,
    describe,
    async prepareWritable(paths) {
      if (settings.mode === "none" || identity.source === "self" || paths.length === 0) return;
      // -P (the default with -R) never follows a symlink a previous step left behind.
      await exec(["chown", "-R", "-P", `${identity.uid}:${identity.gid}`, "--", ...paths], { timeoutMs: 600_000 });
    },
    wrap(argv, opts) {
      if (settings.mode === "none") return [...argv];
      ensureTraversable([opts.cwd, ...(opts.writable ?? []), ...(opts.readOnly ?? [])], settings.hide, identity);
      return sandboxArgv(argv, opts, settings, identity);
    },
    async run(argv, opts) {
      const { cwd, writable, readOnly, env, devices, measure: _measure, ...rest } = opts;
      if (settings.mode === "none") {
        const r = await exec(argv, { ...rest, cwd, env: sandboxEnv(env) });
        await checkDisk(argv, opts, r);
        return r;
      }
      ensureTraversable([cwd, ...(writable ?? []), ...(readOnly ?? [])], settings.hide, identity);
      const full = sandboxArgv(
        argv,
        { cwd, ...(writable ? { writable } : {}), ...(readOnly ? { readOnly } : {}), ...(env ? { env } : {}), ...(devices ? { devices } : {}) },
        settings,
        identity,
      );
      try {
        // prlimit, setpriv and bwrap itself get PATH only: bwrap's own process is visible in the sandbox's /proc.
        const r = await exec(full, { ...rest, env: { PATH: SANDBOX_PATH } });
        await checkDisk(argv, opts, r);
        return { ...r, argv };
      } catch (e) {
        if (e instanceof ExecError) {
          await checkDisk(argv, opts, e.result);
          // Name the sandboxed command, not prlimit.
          const msg = e.message.startsWith("prlimit") ? `${argv[0]}${e.message.slice("prlimit".length)}` : e.message;
          throw new ExecError(msg, { ...e.result, argv });
        }
        throw e;
      }
    },
  };
}

/** What a test or a tool without configuration uses: bwrap with the default limits. */
export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = { cpuSec: 3600, memoryMB: 4096, maxProcs: 1024, maxFileMB: 4096, tmpMB: 1024, diskMB: 30720 };

/**
 * The sandbox a runner function uses when its caller passes none (tests, tools):
 * bwrap with the default limits, hiding `hide` (at least the work dir). Never "none".
 */
export function defaultSandbox(hide: readonly string[]): Sandbox {
  return createSandbox({ mode: "bwrap", user: "patchbench-sandbox", limits: DEFAULT_SANDBOX_LIMITS, hide });
}
