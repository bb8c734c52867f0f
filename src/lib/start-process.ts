import { spawn } from "node:child_process";
import { type WriteStream, createWriteStream } from "node:fs";
import { childEnv } from "./exec.ts";

/**
 * A long-lived child (a QEMU guest) in its own process group: the partner of
 * `exec` for processes that outlive one call. Argument arrays only; the
 * group is what `kill` signals, so everything the child started goes with it.
 */
export interface ProcessHandle {
  pid: number;
  /** Resolves when the child exited, with its code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** Signal the whole process group (SIGTERM, then SIGKILL after `graceMs`); resolves on exit. */
  stop(graceMs?: number): Promise<void>;
}

/** `env` is the child's whole environment; default: lib/exec's allow-list, never process.env. */
export function startProcess(argv: readonly string[], options: { cwd?: string; env?: Record<string, string>; logPath?: string } = {}): ProcessHandle {
  const [cmd, ...args] = argv;
  if (!cmd) throw new TypeError("startProcess: empty argv");
  const log: WriteStream | null = options.logPath ? createWriteStream(options.logPath, { flags: "a" }) : null;
  const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? childEnv(), detached: true, stdio: ["ignore", log ? "pipe" : "ignore", log ? "pipe" : "ignore"] });
  if (log) {
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
  }
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("error", (e) => {
      done = true;
      log?.end(`${cmd}: ${e.message}\n`);
      resolve({ code: null, signal: null });
    });
    child.on("close", (code, signal) => {
      done = true;
      log?.end();
      resolve({ code, signal });
    });
  });
  const killGroup = (sig: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      /* already gone */
    }
  };
  return {
    pid: child.pid ?? -1,
    exited,
    alive: () => !done,
    async stop(graceMs = 3000) {
      if (done) return;
      killGroup("SIGTERM");
      const t = setTimeout(() => killGroup("SIGKILL"), graceMs);
      await exited;
      clearTimeout(t);
      killGroup("SIGKILL");
    },
  };
}
