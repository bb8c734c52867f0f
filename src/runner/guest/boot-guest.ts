import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BootConfig } from "../../config/schema.ts";
import type { BootOutcome } from "../../domain/results.ts";
import type { Exec, ExecResult } from "../../lib/exec.ts";
import { ExecError, exec as hostExec } from "../../lib/exec.ts";
import { projectFile } from "../../lib/project-root.ts";
import type { Sandbox } from "../../lib/sandbox.ts";
import { type ProcessHandle, startProcess } from "../../lib/start-process.ts";
import { consoleTail, parseConsole } from "../boot/parse-console.ts";
import { JsonLineSocket } from "./json-line-socket.ts";
import { qemuGuestArgv, SHARE_TAG } from "./qemu-guest-argv.ts";

export const GUEST_INIT = projectFile("src", "runner", "guest", "guest-init.sh");

/** A kernel booted under QEMU with the runner's userspace, driven through its agent. */
export interface Guest {
  label: string;
  /** QEMU's accelerator; null for a machine of its own (an ssh target). */
  accel: "kvm" | "tcg" | null;
  /** Where the kernel runs, for reports: "QEMU tcg", "ssh target root@lab-3:22". */
  where: string;
  kernelRelease: string;
  /** /proc/version inside the guest: proves which build is running. */
  version: string;
  bootId: string;
  /** From QEMU's start to the agent's hello. */
  bootMs: number;
  consolePath: string;
  /** Run an argv inside the guest (the same contract as lib/exec). */
  exec: Exec;
  readFile(path: string): Promise<string>;
  writeFile(path: string, data: string): Promise<void>;
  /** QMP stop / cont; each resolves with the milliseconds QEMU took to answer. */
  pause(): Promise<number>;
  resume(): Promise<number>;
  alive(): boolean;
  /** Why QEMU exited (or null while it runs), with what the console says about it. */
  death(): { outcome: BootOutcome; reason: string; consoleTail: string } | null;
  shutdown(): Promise<void>;
}

export interface BootGuestRequest {
  label: string;
  kernel: string;
  qemu: BootConfig["qemu"];
  /** Deadline from QEMU's start to the agent's hello. */
  timeoutMs: number;
  /** Per-job folder: console-<label>.log is kept here. */
  artifactsDir: string;
  /** The kept console's file name in artifactsDir instead of console-<label>.log (a side booted again keeps each boot's). */
  consoleName?: string;
  /** Host CPUs for QEMU (taskset list). */
  cpus?: string | null;
  /**
   * A tar file unpacked into the guest's own folder and offered read-only over 9p (SHARE_TAG;
   * mountShare mounts it): the job's files a guest needs, such as a tree's selftests.
   */
  shareTar?: string;
  /**
   * QEMU runs inside it (the series' kernel is untrusted code): as the sandbox user, with the
   * data and work folders hidden from QEMU and so from the guest's 9p view of /.
   */
  sandbox?: Sandbox;
  /** Stand in for a bare-metal ssh target on this loopback port (qemuGuestArgv's sshPort; shareTar holds ssh/). */
  sshPort?: number;
  signal?: AbortSignal;
}

export type BootGuestResult =
  | { ok: true; guest: Guest }
  | { ok: false; outcome: BootOutcome; reason: string; consoleTail: string; durationMs: number; accel: "kvm" | "tcg" };

const KVM_SIGN_OF_LIFE_MS = 20_000;
const AGENT_MARGIN_MS = 30_000;

export function kvmUsable(): boolean {
  try {
    closeSync(openSync("/dev/kvm", "r+"));
    return true;
  } catch {
    return false;
  }
}

interface AgentExecAnswer {
  id: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
  spawnError?: string;
  error?: string;
}

/**
 * Boot `kernel` and wait for its agent. A kernel that panics, oopses or
 * never reaches the agent before the deadline is a result (with the console
 * tail), not a throw; QEMU's process group is killed in that case and on
 * every shutdown, so nothing is left running.
 */
export async function bootGuest(req: BootGuestRequest): Promise<BootGuestResult> {
  mkdirSync(req.artifactsDir, { recursive: true });
  const wantKvm = req.qemu.kvm === "on" || (req.qemu.kvm === "auto" && kvmUsable());
  let accel: "kvm" | "tcg" = wantKvm ? "kvm" : "tcg";
  let r = await bootOnce(req, accel, accel === "kvm" && req.qemu.kvm === "auto" ? KVM_SIGN_OF_LIFE_MS : null);
  const kvmFailed = (x: BootGuestResult) =>
    !x.ok && ((x.outcome === "no-boot" && /no sign of life/.test(x.reason)) || (x.outcome === "error" && /kvm/i.test(x.reason) && /qemu did not start/.test(x.reason)));
  if (accel === "kvm" && req.qemu.kvm === "auto" && kvmFailed(r)) {
    // /dev/kvm can open for the runner and still not run a guest (no sign of life, or closed to
    // the sandbox user QEMU runs as): trust KVM only after the kernel printed.
    accel = "tcg";
    r = await bootOnce(req, accel, null);
  }
  return r;
}

async function bootOnce(req: BootGuestRequest, accel: "kvm" | "tcg", signOfLifeMs: number | null): Promise<BootGuestResult> {
  const started = Date.now();
  const consolePath = join(req.artifactsDir, req.consoleName ?? `console-${req.label}.log`);
  rmSync(consolePath, { force: true });
  // unix socket paths are limited to 107 bytes: keep them short, outside the artifacts folder.
  const sockDir = mkdtempSync(join(tmpdir(), "pbg-"));
  const agentSocket = join(sockDir, "agent");
  const qmpSocket = join(sockDir, "qmp");
  // QEMU writes only into its own folder (sockets, the live console); the console is copied
  // into the artifacts when the guest goes.
  const liveConsole = join(sockDir, "console.log");
  // A copy of the image in that folder too: bwrap makes the folders above a bind source
  // root-only inside the sandbox, so QEMU reads everything from the one folder bound for it.
  const kernel = join(sockDir, "bzImage");
  copyFileSync(req.kernel, kernel);
  let shareDir: string | null = null;
  if (req.shareTar) {
    shareDir = join(sockDir, "share");
    mkdirSync(shareDir);
    try {
      await hostExec(["tar", "-xf", req.shareTar, "-C", shareDir, "--no-same-owner"], { timeoutMs: 300_000 });
    } catch (e) {
      rmSync(sockDir, { recursive: true, force: true });
      throw e;
    }
  }
  const qemuArgv = qemuGuestArgv({ qemu: req.qemu, kernel, accel, init: GUEST_INIT, consolePath: liveConsole, agentSocket, qmpSocket, cpus: req.cpus ?? null, shareDir, sshPort: req.sshPort ?? null });
  let argv = qemuArgv;
  if (req.sandbox && req.sandbox.mode !== "none") {
    // The series' kernel is untrusted: QEMU runs as the sandbox user, and reads the kernel image.
    await req.sandbox.prepareWritable([sockDir]);
    argv = req.sandbox.wrap(qemuArgv, { cwd: sockDir, writable: [sockDir], devices: accel === "kvm" ? ["/dev/kvm"] : [], hostOwnership: true });
  }
  const qemu = startProcess(argv, { logPath: join(req.artifactsDir, `qemu-${req.label}.log`) });
  const consoleText = () => (existsSync(liveConsole) ? readFileSync(liveConsole, "latin1") : existsSync(consolePath) ? readFileSync(consolePath, "latin1") : "");
  const keepConsole = () => {
    if (existsSync(liveConsole)) writeFileSync(consolePath, readFileSync(liveConsole));
  };
  const fail = async (outcome: BootOutcome | null, why: string): Promise<BootGuestResult> => {
    await qemu.stop(1000);
    keepConsole();
    rmSync(sockDir, { recursive: true, force: true });
    const text = consoleText();
    const c = parseConsole(text, { suite: "guest-boot", timedOut: outcome === "timeout", expected: [] });
    const qemuLog = existsSync(join(req.artifactsDir, `qemu-${req.label}.log`)) ? readFileSync(join(req.artifactsDir, `qemu-${req.label}.log`), "utf8").trim() : "";
    const o: BootOutcome = c.outcome === "panic" || c.outcome === "oops" ? c.outcome : (outcome ?? c.outcome);
    const reason = c.outcome === "panic" || c.outcome === "oops" ? c.reason : [why, qemuLog.split("\n").slice(-2).join(" ")].filter(Boolean).join(": ");
    return { ok: false, outcome: o, reason: `${reason}; qemu ${accel}`, consoleTail: consoleTail(text), durationMs: Date.now() - started, accel };
  };
  const onAbort = () => void qemu.stop(500);
  req.signal?.addEventListener("abort", onAbort, { once: true });
  let agent: JsonLineSocket;
  let qmp: JsonLineSocket;
  try {
    qmp = await JsonLineSocket.open(qmpSocket, 10_000, qemu.alive);
    await qmp.next((o) => typeof o === "object" && o !== null && "QMP" in o, 10_000, "QMP greeting");
    qmp.send({ execute: "qmp_capabilities" });
    await qmp.next((o) => typeof o === "object" && o !== null && "return" in o, 10_000, "qmp_capabilities");
    agent = await JsonLineSocket.open(agentSocket, 10_000, qemu.alive);
  } catch (e) {
    return fail("error", `qemu did not start: ${(e as Error).message}`);
  }
  let hello: { kernel: string; version: string; bootId: string };
  try {
    const deadline = req.timeoutMs;
    const hi = agent.next<typeof hello>((o) => typeof o === "object" && o !== null && "hello" in o, deadline, "the guest agent's hello");
    const exited = qemu.exited.then(() => "exited" as const);
    // auto KVM: a guest that printed nothing by now will not; the caller retries under TCG.
    const lifeCheck = new Promise<"silent">((resolve) => {
      if (signOfLifeMs === null) return;
      const t = setTimeout(() => {
        if (!/Linux version/.test(consoleText())) resolve("silent");
      }, signOfLifeMs);
      void qemu.exited.then(() => clearTimeout(t));
    });
    const first = await Promise.race([hi, exited, lifeCheck]);
    if (first === "exited") return fail(null, "the guest stopped before its agent started");
    if (first === "silent") return fail("no-boot", `KVM gave no sign of life in ${signOfLifeMs! / 1000} s`);
    hello = first;
  } catch (e) {
    if (req.signal?.aborted) return fail("error", "aborted");
    return fail("timeout", `no answer from the guest agent within ${req.timeoutMs / 1000} s (${(e as Error).message})`);
  } finally {
    req.signal?.removeEventListener("abort", onAbort);
  }
  return { ok: true, guest: makeGuest(req, accel, hello, Date.now() - started, consolePath, qemu, agent, qmp, sockDir, consoleText, keepConsole) };
}

function makeGuest(
  req: BootGuestRequest,
  accel: "kvm" | "tcg",
  hello: { kernel: string; version: string; bootId: string },
  bootMs: number,
  consolePath: string,
  qemu: ProcessHandle,
  agent: JsonLineSocket,
  qmp: JsonLineSocket,
  sockDir: string,
  consoleText: () => string,
  keepConsole: () => void,
): Guest {
  let nextId = 1;
  let paused = false;
  const ask = async <T>(req: Record<string, unknown>, timeoutMs: number, what: string): Promise<T & { error?: string }> => {
    if (!qemu.alive()) throw new Error(`guest ${hello.kernel} is gone (${what})`);
    if (paused) throw new Error(`guest is paused (${what})`);
    const id = nextId++;
    agent.send({ ...req, id });
    const died = qemu.exited.then(() => {
      throw new Error(`guest stopped while running ${what}`);
    });
    return await Promise.race([agent.next<T & { error?: string }>((o) => (o as { id?: unknown }).id === id, timeoutMs, what), died]);
  };
  const qmpCommand = async (execute: string): Promise<number> => {
    const t0 = performance.now();
    qmp.send({ execute });
    await qmp.next((o) => typeof o === "object" && o !== null && ("return" in o || "error" in o), 10_000, `QMP ${execute}`);
    return performance.now() - t0;
  };
  const exec: Exec = async (argv, options = {}) => {
    const timeoutMs = options.timeoutMs ?? 600_000;
    const what = argv.slice(0, 3).join(" ");
    const a = await ask<AgentExecAnswer>(
      {
        op: "exec",
        argv,
        timeoutMs,
        ...(options.input === undefined ? {} : { input: Buffer.from(options.input).toString("base64") }),
        ...(options.extraEnv ? { env: options.extraEnv } : {}),
        ...(options.cwd ? { cwd: options.cwd } : {}),
      },
      timeoutMs + AGENT_MARGIN_MS,
      what,
    );
    if (a.error) throw new Error(`guest agent: ${a.error}`);
    const stdoutBytes = Buffer.from(a.stdout, "base64");
    const result: ExecResult = {
      argv,
      code: a.code,
      signal: a.signal,
      stdout: stdoutBytes.toString("utf8"),
      stderr: Buffer.from(a.stderr, "base64").toString("utf8"),
      stdoutBytes,
      timedOut: a.timedOut,
      durationMs: a.durationMs,
    };
    if (a.spawnError) throw new ExecError(`${argv[0]}: ${/No such file/.test(a.spawnError) ? "command not found" : a.spawnError} (in the ${req.label} guest)`, result);
    if (a.timedOut) throw new ExecError(`${argv[0]}: timed out after ${timeoutMs} ms (in the ${req.label} guest)`, result);
    const ok = options.okCodes === "any" || (a.code !== null && (options.okCodes ?? [0]).includes(a.code));
    if (!ok) {
      const detail = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(-3).join(" | ");
      throw new ExecError(`${argv[0]} exited ${a.code ?? a.signal} in the ${req.label} guest: ${detail}`, result);
    }
    return result;
  };
  return {
    label: req.label,
    accel,
    where: `QEMU ${accel}`,
    kernelRelease: hello.kernel,
    version: hello.version,
    bootId: hello.bootId,
    bootMs,
    consolePath,
    exec,
    async readFile(path) {
      const a = await ask<{ data?: string }>({ op: "read", path }, 30_000, `read ${path}`);
      if (a.error || a.data === undefined) throw new Error(`guest agent: ${a.error ?? "no data"}`);
      return a.data;
    },
    async writeFile(path, data) {
      const a = await ask({ op: "write", path, data }, 30_000, `write ${path}`);
      if (a.error) throw new Error(`guest agent: ${a.error}`);
    },
    async pause() {
      const ms = await qmpCommand("stop");
      paused = true;
      return ms;
    },
    async resume() {
      const ms = await qmpCommand("cont");
      paused = false;
      return ms;
    },
    alive: () => qemu.alive(),
    death() {
      if (qemu.alive()) return null;
      const text = consoleText();
      const c = parseConsole(text, { suite: "guest", timedOut: false, expected: [] });
      const outcome: BootOutcome = c.outcome === "panic" || c.outcome === "oops" ? c.outcome : "no-boot";
      return { outcome, reason: outcome === "no-boot" ? "the guest stopped" : c.reason, consoleTail: consoleTail(text) };
    },
    async shutdown() {
      agent.close();
      if (qemu.alive()) {
        try {
          qmp.send({ execute: "quit" });
        } catch {
          /* QMP already closed */
        }
        const t = setTimeout(() => void qemu.stop(1000), 3000);
        await qemu.exited;
        clearTimeout(t);
      }
      qmp.close();
      keepConsole();
      rmSync(sockDir, { recursive: true, force: true });
    },
  };
}

/** Where mountShare puts the job's share inside a guest (/run is the guest's own tmpfs). */
export const GUEST_SHARE_DIR = "/run/pb-share";

/** Mount the guest's read-only share (BootGuestRequest.shareTar) at GUEST_SHARE_DIR. */
export async function mountShare(g: Guest): Promise<string> {
  await g.exec(["mkdir", "-p", GUEST_SHARE_DIR], { timeoutMs: 30_000 });
  await g.exec(["mount", "-t", "9p", "-o", "trans=virtio,version=9p2000.L,ro,msize=262144", SHARE_TAG, GUEST_SHARE_DIR], { timeoutMs: 30_000 });
  return GUEST_SHARE_DIR;
}
