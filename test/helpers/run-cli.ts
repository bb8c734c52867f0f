import { type ChildProcess, spawn, type StdioOptions } from "node:child_process";
import { join } from "node:path";
import { PROJECT_ROOT } from "./fixtures.ts";

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export const CLI = join(PROJECT_ROOT, "bin", "patchbench.js");

/** Run the real CLI as a user would (a separate process). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, onSpawn?: (pid: number) => void, input?: Uint8Array): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, PATCHBENCH_LOG_LEVEL: "warn", ...env },
      stdio: [input ? "pipe" : "ignore", "pipe", "pipe"],
    });
    if (child.pid && onSpawn) onSpawn(child.pid);
    if (input) child.stdin?.end(input);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Start the real CLI and hand back the process (signals, pipes the test closes). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}, stdio: StdioOptions = ["ignore", "pipe", "pipe"]): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { env: { ...process.env, PATCHBENCH_LOG_LEVEL: "warn", ...env }, stdio });
}

/** The exit code (or 128 + signal number) of a process, and how long it took from now. */
export function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode, ms: 0 });
    else child.once("exit", (code, signal) => resolve({ code, signal, ms: Date.now() - t0 }));
  });
}
