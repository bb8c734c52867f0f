import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { SuiteTest } from "../../domain/results.ts";
import { type Exec, exec as defaultExec } from "../../lib/exec.ts";
import { findCgroup2Mount } from "./find-cgroup2-mount.ts";
import { projectFile } from "../../lib/project-root.ts";

const HERE = projectFile("src/runner/probes");
const BPF_SOURCE = join(HERE, "sockops-busy-poll.bpf.c");
const LOADER_SOURCE = join(HERE, "sockops-loader.c");
export const SOCKOPS_PROBE = "bpf-setsockopt-so-busy-poll";
const EINVAL = 22;

const output = z.union([
  z.object({ busyPoll: z.number(), keepalive: z.number(), ran: z.number() }),
  z.object({ error: z.string() }),
]);

/**
 * Pure: the loader's JSON line → a suite test. bpf_setsockopt(SO_BUSY_POLL)
 * = 0 is pass; -EINVAL is skip "unsupported on this kernel" (the stock
 * kernel; the series adds it) — a fact about the kernel, not a failure; the
 * SO_KEEPALIVE control must be 0 or the probe itself is broken (error).
 */
export function classifySockopsOutput(stdout: string, durationMs: number): SuiteTest {
  const base = { suite: "host-probes", name: SOCKOPS_PROBE, durationMs };
  const line = stdout.trim().split("\n").pop() ?? "";
  let parsed: z.infer<typeof output>;
  try {
    parsed = output.parse(JSON.parse(line));
  } catch {
    return { ...base, status: "error", detail: `loader printed no result: ${line.slice(0, 200)}` };
  }
  if ("error" in parsed) return { ...base, status: "error", detail: `sockops probe could not run: ${parsed.error}` };
  if (parsed.ran !== 1) return { ...base, status: "error", detail: "the sockops program never ran (no established connection seen)" };
  if (parsed.keepalive !== 0) return { ...base, status: "error", detail: `control bpf_setsockopt(SO_KEEPALIVE) = ${parsed.keepalive}: probe broken` };
  if (parsed.busyPoll === 0) return { ...base, status: "pass", detail: "bpf_setsockopt(SO_BUSY_POLL, 50) = 0 from sock_ops: supported" };
  if (parsed.busyPoll === -EINVAL) {
    return { ...base, status: "skip", detail: "unsupported on this kernel: bpf_setsockopt(SO_BUSY_POLL) = -EINVAL (control SO_KEEPALIVE = 0)" };
  }
  return { ...base, status: "fail", detail: `bpf_setsockopt(SO_BUSY_POLL, 50) = ${parsed.busyPoll}` };
}

async function compile(cacheDir: string, exec: Exec): Promise<{ obj: string; loader: string }> {
  const hash = createHash("sha256").update(readFileSync(BPF_SOURCE)).update(readFileSync(LOADER_SOURCE)).digest("hex").slice(0, 16);
  const obj = join(cacheDir, `sockops-${hash}.bpf.o`);
  const loader = join(cacheDir, `sockops-loader-${hash}`);
  mkdirSync(cacheDir, { recursive: true });
  if (!existsSync(obj)) {
    const arch = (await exec(["gcc", "-print-multiarch"], { okCodes: "any" })).stdout.trim() || "x86_64-linux-gnu";
    await exec(["clang", "-O2", "-g", "-target", "bpf", `-I/usr/include/${arch}`, "-c", BPF_SOURCE, "-o", `${obj}.tmp`], { timeoutMs: 120_000 });
    renameSync(`${obj}.tmp`, obj);
  }
  if (!existsSync(loader)) {
    await exec(["gcc", "-O2", "-Wall", "-o", `${loader}.tmp`, LOADER_SOURCE, "-lbpf"], { timeoutMs: 120_000 });
    renameSync(`${loader}.tmp`, loader);
  }
  return { obj, loader };
}

/**
 * The sockops host probe: compile the BPF program and its libbpf loader
 * (clang/gcc at run time, cached by source hash), attach to a child cgroup
 * of the cgroup v2 mount found in /proc/mounts, and record what
 * bpf_setsockopt(SO_BUSY_POLL) returns on the runner's kernel.
 */
export async function runSockopsProbe(opts: { cacheDir: string; exec?: Exec; signal?: AbortSignal; procMounts?: string }): Promise<SuiteTest> {
  const exec = opts.exec ?? defaultExec;
  const started = Date.now();
  const err = (detail: string): SuiteTest => ({ suite: "host-probes", name: SOCKOPS_PROBE, status: "error", detail, durationMs: Date.now() - started });
  const mount = findCgroup2Mount(opts.procMounts ?? readFileSync("/proc/mounts", "utf8"));
  if (!mount) return err("no cgroup2 mount in /proc/mounts");
  let built: { obj: string; loader: string };
  try {
    built = await compile(opts.cacheDir, exec);
  } catch (e) {
    return err(`could not compile the probe (clang/libbpf-dev installed?): ${(e as Error).message.slice(0, 300)}`);
  }
  const child = join(mount, `patchbench-probe-${process.pid}-${Date.now().toString(36)}`);
  try {
    mkdirSync(child);
  } catch (e) {
    return err(`cannot create a child cgroup under ${mount}: ${(e as Error).message}`);
  }
  try {
    const r = await exec([built.loader, built.obj, child, mount], {
      timeoutMs: 60_000,
      okCodes: "any",
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return classifySockopsOutput(r.stdout, Date.now() - started);
  } catch (e) {
    return err(`sockops loader failed: ${(e as Error).message}`);
  } finally {
    try {
      rmdirSync(child);
    } catch {
      /* still populated for a moment after the loader exits: retried below */
      await new Promise((r) => setTimeout(r, 200));
      try {
        rmdirSync(child);
      } catch {
        /* left for the operator; named in the cgroup path */
      }
    }
  }
}
