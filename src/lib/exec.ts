import { spawn } from "node:child_process";
import { PatchbenchError } from "./errors.ts";
import { currentJobProcesses } from "./job-processes.ts";

/**
 * The single choke point for subprocesses. Arguments are always an array
 * (never a shell string), the child gets its own process group so a timeout
 * or abort kills everything it started, and output is capped.
 */
export interface ExecOptions {
  cwd?: string;
  /** The child's whole environment instead of the allow-listed base (see childEnv). */
  env?: NodeJS.ProcessEnv;
  /** Variables the caller passes explicitly, merged over `env` (or the allow-listed base). */
  extraEnv?: Record<string, string>;
  input?: Uint8Array | string;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Max bytes kept per stream (the tail is kept). Default 4 MiB. */
  maxOutput?: number;
  /** Exit codes that count as success. Default [0]; pass "any" to never throw on exit code. */
  okCodes?: readonly number[] | "any";
}

export interface ExecResult {
  argv: readonly string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
  timedOut: boolean;
  durationMs: number;
}

export class ExecError extends PatchbenchError {
  readonly result: ExecResult;
  constructor(message: string, result: ExecResult) {
    super(result.timedOut ? "timeout" : "infra", message);
    this.name = "ExecError";
    this.result = result;
  }
}

/**
 * The only variables a child inherits from this process. Everything else —
 * PATCHBENCH_SMTP_PASSWORD, PATCHBENCH_GITHUB_*, tokens, REDIS_URL, SSH_AUTH_SOCK,
 * CCACHE_*, GIT_* — reaches a child only when its caller passes it explicitly.
 * The proxy variables are here so `git fetch` works behind a proxy; the
 * sandbox (lib/sandbox) does not pass them on.
 */
export const INHERITED_ENV = [
  "PATH",
  "HOME",
  "LANG",
  "LC_ALL",
  "LC_CTYPE",
  "TERM",
  "TZ",
  "TMPDIR",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
] as const;

/** The allow-listed part of `from` (process.env by default), plus `extra`. */
export function childEnv(extra: Record<string, string> = {}, from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of INHERITED_ENV) {
    const v = from[k];
    if (v !== undefined) env[k] = v;
  }
  return { ...env, ...extra };
}

function tailBuffer(chunks: Buffer[], max: number): Buffer {
  const all = Buffer.concat(chunks);
  return all.length > max ? all.subarray(all.length - max) : all;
}

export type Exec = (argv: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

export const exec: Exec = (argv, options = {}) => {
  const [cmd, ...args] = argv;
  if (!cmd) throw new TypeError("exec: empty argv");
  const max = options.maxOutput ?? 4 * 1024 * 1024;
  const started = Date.now();
  return new Promise<ExecResult>((resolve, reject) => {
    const env = { ...(options.env ?? childEnv()), ...(options.extraEnv ?? {}) };
    const child = spawn(cmd, args, {
      cwd: options.cwd,
      env,
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    // Its own group outlives a kill -9 of this process: record it for the job (job-processes.ts).
    if (child.pid !== undefined) currentJobProcesses()?.add(child.pid);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let timedOut = false;
    const keep = (chunks: Buffer[], len: number, chunk: Buffer): number => {
      chunks.push(chunk);
      let n = len + chunk.length;
      while (n > max * 2 && chunks.length > 1) n -= chunks.shift()!.length;
      return n;
    };
    child.stdout.on("data", (c: Buffer) => {
      outLen = keep(out, outLen, c);
    });
    child.stderr.on("data", (c: Buffer) => {
      errLen = keep(err, errLen, c);
    });
    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        /* already gone */
      }
    };
    let hardKill: NodeJS.Timeout | undefined;
    const stop = () => {
      killGroup("SIGTERM");
      hardKill = setTimeout(() => killGroup("SIGKILL"), 2000);
      hardKill.unref();
    };
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            stop();
          }, options.timeoutMs);
    const onAbort = () => stop();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    child.stdin.on("error", () => {
      /* child may exit before reading its input */
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();

    child.on("error", (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      const result: ExecResult = {
        argv,
        code: null,
        signal: null,
        stdout: "",
        stderr: e.message,
        stdoutBytes: Buffer.alloc(0),
        timedOut: false,
        durationMs: Date.now() - started,
      };
      const msg = e.code === "ENOENT" ? `${cmd}: command not found` : `${cmd}: ${e.message}`;
      reject(new ExecError(msg, result));
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      if (hardKill) clearTimeout(hardKill);
      options.signal?.removeEventListener("abort", onAbort);
      // Kill leftovers of the group (e.g. daemons a failed command forked).
      if (timedOut || options.signal?.aborted) killGroup("SIGKILL");
      const stdoutBytes = tailBuffer(out, max);
      const result: ExecResult = {
        argv,
        code,
        signal,
        stdout: stdoutBytes.toString("utf8"),
        stderr: tailBuffer(err, max).toString("utf8"),
        stdoutBytes,
        timedOut,
        durationMs: Date.now() - started,
      };
      if (timedOut) {
        reject(new ExecError(`${cmd}: timed out after ${options.timeoutMs} ms`, result));
        return;
      }
      if (options.signal?.aborted) {
        reject(new ExecError(`${cmd}: aborted`, result));
        return;
      }
      const ok = options.okCodes === "any" || (code !== null && (options.okCodes ?? [0]).includes(code));
      if (!ok) {
        const detail = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(-3).join(" | ");
        reject(new ExecError(`${cmd} exited ${code ?? signal}: ${detail}`, result));
        return;
      }
      resolve(result);
    });
  });
};
