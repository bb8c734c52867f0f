import { appendFileSync, copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { PACKED_TEXT_MAX_BYTES, packText } from "../../domain/packed-text.ts";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { BuildConfig } from "../../config/schema.ts";
import type { KernelBuild } from "../../domain/results.ts";
import { type Exec, ExecError, exec as defaultExec } from "../../lib/exec.ts";
import type { Sandbox } from "../../lib/sandbox.ts";
import { parseBuildWarnings } from "./parse-build-warnings.ts";
import { extrasFragment, missingOptions, planKernelConfig, SELFTESTS_BPF_CONFIG } from "./plan-kernel-config.ts";

export interface BuildKernelOptions {
  treeDir: string;
  commit: string;
  label: "base" | "candidate";
  config: BuildConfig;
  /** Per-job folder: log and kernel image are kept here. */
  artifactsDir: string;
  /** ccache's cache (shared by every job of the runner); null: none kept between builds. */
  ccacheDir: string | null;
  /**
   * Whether this build may add to that cache: only code from the tree's upstream history (a base).
   * A series' build reads it and cannot write it (bound read-only, CCACHE_READONLY), so it cannot
   * plant objects that later builds of other series would link.
   */
  ccacheWrite?: boolean;
  exec?: Exec;
  /** Where make (and the tree's scripts it runs) runs: the worktree writable, nothing else. */
  sandbox: Sandbox;
  /** The mirror the worktree belongs to (read-only inside, so the tree's scripts can ask git). */
  mirrorRepo?: string;
  signal?: AbortSignal;
  /** Skip the config steps (an incremental build in the same tree). */
  reuseConfig?: boolean;
}

/** A regular file (not a symlink) whose real path is inside `root`: what a sandboxed step may hand back. */
export function isInside(root: string, file: string): boolean {
  try {
    return lstatSync(file).isFile() && realpathSync(file).startsWith(`${realpathSync(root)}/`);
  } catch {
    return false;
  }
}

export class BuildFailure extends Error {
  readonly build: KernelBuild;
  readonly kind: "timeout" | "failed" | "no-space" | "config";
  constructor(kind: "timeout" | "failed" | "no-space" | "config", message: string, build: KernelBuild) {
    super(message);
    this.name = "BuildFailure";
    this.kind = kind;
    this.build = build;
  }
}

async function hasCcache(exec: Exec): Promise<boolean> {
  try {
    return (await exec(["ccache", "--version"], { okCodes: "any", timeoutMs: 10_000 })).code === 0;
  } catch {
    return false;
  }
}

/**
 * Pure: ccache's environment for a build in `treeDir`. Read-only: hits come from the cache, nothing
 * is added, no statistics are written, and temporary files go to the sandbox's own /tmp.
 */
export function ccacheEnv(treeDir: string, dir: string | null, write: boolean): Record<string, string> {
  return {
    CCACHE_BASEDIR: treeDir,
    CCACHE_NOHASHDIR: "1",
    ...(dir ? { CCACHE_DIR: dir } : {}),
    ...(write ? {} : { CCACHE_READONLY: "1", CCACHE_NOSTATS: "1", CCACHE_TEMPDIR: "/tmp/ccache-tmp" }),
  };
}

const tailOf = (text: string, lines = 60) => text.split("\n").slice(-lines).join("\n").slice(-6000);

/**
 * Configure and build one kernel in a worktree: make <base>, merge
 * fragments, olddefconfig, make -jN <target> (through ccache when present,
 * with CCACHE_BASEDIR so every job's worktree hits the same cache, read-only
 * unless the caller vouches for the code with `ccacheWrite`). The
 * log (stdout+stderr, tail-capped) is kept beside the image. A failed or
 * timed-out build throws BuildFailure with the log tail.
 */
export async function buildKernel(opts: BuildKernelOptions): Promise<KernelBuild> {
  const exec = opts.exec ?? defaultExec;
  const cfg = opts.config;
  mkdirSync(opts.artifactsDir, { recursive: true });
  const logPath = join(opts.artifactsDir, `build-${opts.label}.log`);
  writeFileSync(logPath, "");
  const ccache = cfg.ccache && (await hasCcache(exec));
  const env: Record<string, string> = {
    KBUILD_BUILD_TIMESTAMP: "2025-01-01",
    KBUILD_BUILD_USER: "patchbench",
    KBUILD_BUILD_HOST: "patchbench",
    // "#<commit>" in /proc/version: an ssh target proves which of two builds it booted.
    ...(/^[A-Za-z0-9._-]{1,40}$/.test(opts.commit) ? { KBUILD_BUILD_VERSION: opts.commit.slice(0, 12) } : {}),
    LC_ALL: "C",
    ...(ccache ? ccacheEnv(opts.treeDir, opts.ccacheDir, opts.ccacheWrite ?? false) : {}),
  };
  const started = Date.now();
  const deadline = started + cfg.timeoutSec * 1000;
  // The sandbox user owns the worktree (and a cache it may write) while make runs; chown the
  // cache only when it is not the sandbox user's yet (it can be large).
  const writable = [opts.treeDir];
  const readOnly = [opts.artifactsDir, ...(opts.mirrorRepo ? [opts.mirrorRepo] : [])];
  await opts.sandbox.prepareWritable([opts.treeDir]);
  if (ccache && opts.ccacheDir) {
    mkdirSync(opts.ccacheDir, { recursive: true });
    if (opts.ccacheWrite) {
      if (statSync(opts.ccacheDir).uid !== opts.sandbox.identity.uid) await opts.sandbox.prepareWritable([opts.ccacheDir]);
      writable.push(opts.ccacheDir);
    } else readOnly.push(opts.ccacheDir);
  }
  let all = "";
  const build: KernelBuild = { commit: opts.commit, ok: false, durationMs: 0, warnings: [], logTail: "", logPath, image: null, ccache };
  const run = async (argv: string[]) => {
    appendFileSync(logPath, `$ ${argv.join(" ")}\n`);
    try {
      const r = await opts.sandbox.run(argv, {
        cwd: opts.treeDir,
        writable,
        measure: [opts.treeDir],
        readOnly,
        env,
        timeoutMs: Math.max(1000, deadline - Date.now()),
        maxOutput: cfg.logMaxBytes,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      const text = `${r.stdout}${r.stderr}`;
      appendFileSync(logPath, text);
      all += text;
    } catch (e) {
      if (!(e instanceof ExecError)) throw e;
      const text = `${e.result.stdout}${e.result.stderr}`;
      appendFileSync(logPath, `${text}\n${e.message}\n`);
      all += text;
      build.durationMs = Date.now() - started;
      build.logTail = tailOf(`${all}\n${e.message}`);
      build.warnings = parseBuildWarnings(all);
      if (opts.signal?.aborted) throw e;
      const overBudget = /sandboxLimits\.diskMB/.test(e.message);
      const kind = e.result.timedOut ? "timeout" : overBudget || /No space left on device/.test(text) ? "no-space" : "failed";
      const why =
        kind === "timeout"
          ? `timed out after ${cfg.timeoutSec} s`
          : kind === "no-space"
            ? `ran out of disk space${overBudget ? `: ${e.message}` : ""}`
            : `failed: ${e.message.slice(0, 300)}`;
      throw new BuildFailure(kind, `${opts.label} build (${argv.slice(0, 2).join(" ")}) ${why}`, build);
    }
  };
  if (!opts.reuseConfig) {
    const extrasFile = join(opts.artifactsDir, "extras.config");
    writeFileSync(extrasFile, extrasFragment(cfg.extras));
    const plan = planKernelConfig(cfg, { hasSelftestsConfig: existsSync(join(opts.treeDir, SELFTESTS_BPF_CONFIG)), extrasFile });
    for (const step of plan.steps) await run(step);
    const wanted = [...plan.fragments.filter((f) => f.startsWith("/")).map((f) => readFileSync(f, "utf8")), extrasFragment(cfg.extras)];
    // The .config was written by the sandboxed make: read it only as a regular file inside the tree.
    const dotConfig = join(opts.treeDir, ".config");
    const missing = missingOptions(wanted, isInside(opts.treeDir, dotConfig) ? readFileSync(dotConfig, "utf8") : "");
    if (missing.length > 0) {
      build.durationMs = Date.now() - started;
      build.logTail = tailOf(all);
      throw new BuildFailure("config", `${opts.label} config: the tree cannot satisfy ${missing.length} requested option(s): ${missing.join(", ")}`, build);
    }
  }
  const jobs = cfg.jobs > 0 ? cfg.jobs : availableParallelism();
  await run(["make", `-j${jobs}`, ...(ccache ? ["CC=ccache gcc"] : []), cfg.target]);
  const image = join(opts.treeDir, "arch", "x86", "boot", "bzImage");
  // The tree is the sandbox user's now: copy only a regular file that really is inside it
  // (a symlink to /etc/shadow, or arch/ pointing elsewhere, is not an image).
  if (existsSync(image) && cfg.target === "bzImage" && isInside(opts.treeDir, image)) {
    build.image = join(opts.artifactsDir, `bzImage-${opts.label}`);
    copyFileSync(image, build.image);
  }
  build.ok = true;
  // The exact .config, for the reproduction bundle (read as a regular file inside the tree, as above).
  const finalConfig = join(opts.treeDir, ".config");
  // The sandboxed make wrote it: one far over a real .config's size is left out, not carried.
  if (isInside(opts.treeDir, finalConfig) && statSync(finalConfig).size <= PACKED_TEXT_MAX_BYTES) build.dotConfig = packText(readFileSync(finalConfig, "utf8"));
  build.durationMs = Date.now() - started;
  build.warnings = parseBuildWarnings(all);
  build.logTail = tailOf(all, 20);
  return build;
}
