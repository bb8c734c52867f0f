import { appendFileSync, copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { BuildConfig } from "../../config/schema.ts";
import type { KernelBuild } from "../../domain/results.ts";
import { type Exec, ExecError, exec as defaultExec } from "../../lib/exec.ts";
import { parseBuildWarnings } from "./parse-build-warnings.ts";
import { extrasFragment, planKernelConfig, SELFTESTS_BPF_CONFIG } from "./plan-kernel-config.ts";

export interface BuildKernelOptions {
  treeDir: string;
  commit: string;
  label: "base" | "candidate";
  config: BuildConfig;
  /** Per-job folder: log and kernel image are kept here. */
  artifactsDir: string;
  /** ccache's cache (shared across jobs); null uses ccache's default. */
  ccacheDir: string | null;
  exec?: Exec;
  signal?: AbortSignal;
  /** Skip the config steps (an incremental build in the same tree). */
  reuseConfig?: boolean;
}

export class BuildFailure extends Error {
  readonly build: KernelBuild;
  readonly kind: "timeout" | "failed" | "no-space";
  constructor(kind: "timeout" | "failed" | "no-space", message: string, build: KernelBuild) {
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

const tailOf = (text: string, lines = 60) => text.split("\n").slice(-lines).join("\n").slice(-6000);

/**
 * Configure and build one kernel in a worktree: make <base>, merge
 * fragments, olddefconfig, make -jN <target> (through ccache when present,
 * with CCACHE_BASEDIR so every job's worktree hits the same cache). The
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
    LC_ALL: "C",
    ...(ccache ? { CCACHE_BASEDIR: opts.treeDir, CCACHE_NOHASHDIR: "1", ...(opts.ccacheDir ? { CCACHE_DIR: opts.ccacheDir } : {}) } : {}),
  };
  const started = Date.now();
  const deadline = started + cfg.timeoutSec * 1000;
  let all = "";
  const build: KernelBuild = { commit: opts.commit, ok: false, durationMs: 0, warnings: [], logTail: "", logPath, image: null, ccache };
  const run = async (argv: string[]) => {
    appendFileSync(logPath, `$ ${argv.join(" ")}\n`);
    try {
      const r = await exec(argv, {
        cwd: opts.treeDir,
        extraEnv: env,
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
      const kind = e.result.timedOut ? "timeout" : /No space left on device/.test(text) ? "no-space" : "failed";
      const why = kind === "timeout" ? `timed out after ${cfg.timeoutSec} s` : kind === "no-space" ? "ran out of disk space" : `failed: ${e.message.slice(0, 300)}`;
      throw new BuildFailure(kind, `${opts.label} build (${argv.slice(0, 2).join(" ")}) ${why}`, build);
    }
  };
  if (!opts.reuseConfig) {
    const extrasFile = join(opts.artifactsDir, "extras.config");
    writeFileSync(extrasFile, extrasFragment(cfg.extras));
    const plan = planKernelConfig(cfg, { hasSelftestsConfig: existsSync(join(opts.treeDir, SELFTESTS_BPF_CONFIG)), extrasFile });
    for (const step of plan.steps) await run(step);
  }
  const jobs = cfg.jobs > 0 ? cfg.jobs : availableParallelism();
  await run(["make", `-j${jobs}`, ...(ccache ? ["CC=ccache gcc"] : []), cfg.target]);
  const image = join(opts.treeDir, "arch", "x86", "boot", "bzImage");
  if (existsSync(image) && cfg.target === "bzImage") {
    build.image = join(opts.artifactsDir, `bzImage-${opts.label}`);
    copyFileSync(image, build.image);
  }
  build.ok = true;
  build.durationMs = Date.now() - started;
  build.warnings = parseBuildWarnings(all);
  build.logTail = tailOf(all, 20);
  return build;
}
