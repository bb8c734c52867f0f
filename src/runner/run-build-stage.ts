import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { PROJECT_ROOT } from "../lib/project-root.ts";
import { GUEST_CONFIG, planKernelConfig, SELFTESTS_BPF_CONFIG } from "./build/plan-kernel-config.ts";
import type { ApplyData, BootRun, BuildData, KernelBuild, StageResult } from "../domain/results.ts";
import type { VariantSetting } from "../domain/bench.ts";
import { judgeBoots } from "../domain/judge-boots.ts";
import { seriesBpfNames } from "../domain/series-bpf-program.ts";
import { combineStatus, type Status } from "../domain/status.ts";
import type { Exec } from "../lib/exec.ts";
import type { Git } from "../lib/git.ts";
import type { Logger } from "../lib/logger.ts";
import { defaultSandbox, type Sandbox } from "../lib/sandbox.ts";
import type { StageJob } from "../queue/payloads.ts";
import { amSeries } from "./apply/am-series.ts";
import { rawPatches } from "./apply/apply-series.ts";
import { mirrorWithTip } from "./apply/apply-tip.ts";
import { flowRef } from "./apply/flow-ref.ts";
import type { BootTarget } from "./boot/boot-target.ts";
import { buildGuestProbe } from "./boot/build-guest-probe.ts";
import { createBootTarget } from "./boot/create-boot-target.ts";
import { BuildFailure, buildKernel } from "./build/build-kernel.ts";
import { buildFlowTestProgs } from "./build/build-flow-test-progs.ts";
import { compilerVersion } from "./build/compiler-version.ts";
import { buildSeriesBpfObjects, isRunnerSideProblem } from "./build/build-series-bpf.ts";
import { describeTestProgsBuilds } from "../domain/describe-test-progs.ts";
import { compareProbes } from "./build/compare-probes.ts";
import { keepBuiltKernel, keptKernelBtf, keptVmlinuxHeader, kernelCacheKey, takeCachedKernel } from "./build/kernel-cache.ts";
import { newWarnings } from "./build/parse-build-warnings.ts";
import { ensureMirror } from "./workspace/ensure-mirror.ts";
import { withJobWorktree, worktreeGitArgs } from "./workspace/job-worktree.ts";
import { stageJobId } from "../queue/job-ids.ts";

/** The runner's compiler, part of a kept kernel's key ("unknown" when gcc does not answer). */

/**
 * Pure: "built base and candidate (defconfig)", or which kernels were kept ones and from which
 * flow: "reused the kept base and candidate of flow X (same commit, defconfig config and compiler)".
 */
export function describeBuilds(base: KernelBuild | null, candidate: KernelBuild, configName: string): string {
  const kernels = [...(base ? [{ label: "base", k: base }] : []), { label: "candidate", k: candidate }];
  const built = kernels.filter(({ k }) => !k.reused).map(({ label }) => label);
  if (built.length === kernels.length) return `built ${built.join(" and ")} (${configName})`;
  const byFlow = new Map<string, string[]>();
  for (const { label, k } of kernels) if (k.reused) byFlow.set(k.reused.flowId, [...(byFlow.get(k.reused.flowId) ?? []), label]);
  const reused = [...byFlow].map(([flow, labels]) => `${labels.join(" and ")} of flow ${flow}`).join(" and the ");
  return `reused the kept ${reused} (same commit, ${configName} config and compiler)${built.length ? `, built ${built.join(" and ")}` : ""}`;
}

export interface BuildStageDeps {
  git: Git;
  log: Logger;
  workDir: string;
  runner: string;
  /** The apply stage's result (base and head commits). */
  apply: ApplyData | null;
  /** ccache's cache dir shared by jobs, written only by base builds (null: none kept between builds). */
  ccacheDir?: string | null;
  exec?: Exec;
  /** Where make runs; default: bwrap hiding workDir. */
  sandbox?: Sandbox;
  /** Override the configured boot target (tests). */
  bootTarget?: BootTarget;
  signal?: AbortSignal;
}

/**
 * The build stage: build the base and the candidate kernel in one
 * throwaway worktree (the candidate incrementally), report warnings the
 * series adds, then boot both on the configured target and run the
 * in-guest probe on each. A hung or failed-for-infrastructure build, a
 * kernel that never boots or a target that never comes back is an `error`
 * result with the reason and log tail — never a thrown job — and the
 * worktree is removed in every case.
 */
export async function runBuildStage(job: StageJob, deps: BuildStageDeps): Promise<StageResult<BuildData>> {
  const startedAt = new Date().toISOString();
  const { git } = deps;
  const cfg = job.build;
  const data: BuildData = {
    config: { base: cfg.baseConfig, fragments: [], extras: cfg.extras },
    base: null,
    candidate: null,
    newWarnings: [],
    boots: [],
    probeChanges: [],
  };
  const done = (status: Status, summary: string): StageResult<BuildData> => ({
    stage: "build",
    status,
    summary,
    startedAt,
    endedAt: new Date().toISOString(),
    runner: deps.runner,
    data,
  });
  const apply = deps.apply;
  if (!apply?.baseCommit || !apply.head) return done("skip", "skipped: nothing applied to build");
  const sig = deps.signal ? { signal: deps.signal } : {};
  const exec = deps.exec ? { exec: deps.exec } : {};
  const artifactsRoot = join(deps.workDir, "artifacts");
  const artifactsDir = join(artifactsRoot, job.flowId);
  const mirror = await ensureMirror(job.tree, { git, workDir: deps.workDir, fetchIntervalMs: 600_000, ...sig });
  const sandbox = deps.sandbox ?? defaultSandbox([deps.workDir]);
  // The qemu target boots the series' kernel: QEMU runs in the sandbox like make does.
  const target = deps.bootTarget ?? createBootTarget(job.boot, { ...(deps.exec ? { exec: deps.exec } : {}), sandbox });

  return withJobWorktree({ git, repo: mirror.repo, workDir: deps.workDir, key: stageJobId(job.flowId, "build"), commit: apply.baseCommit, ...sig }, async (wt) => {
    // The applied head is kept as a ref by the apply stage; on another runner, apply again.
    let head = apply.head!;
    const known = await git(["rev-parse", "--verify", "--quiet", `${flowRef(job.flowId)}^{commit}`], { repo: mirror.repo, okCodes: "any" });
    if (known.code !== 0 && job.tip) {
      // A tree tip: its commits are the tree's own; fetch them when this runner has not yet.
      await mirrorWithTip(job, job.tip, { git, workDir: deps.workDir, ...sig });
      head = job.tip.head;
    } else if (known.code !== 0) {
      const am = await amSeries(git, wt.dir, rawPatches(job), deps.signal);
      if (!am.head || am.failure) return done("error", "the series applied in the apply stage but not again on this runner");
      head = am.head;
      await git(["checkout", "--quiet", "--detach", apply.baseCommit!], { repo: wt.dir });
    }

    const common = { treeDir: wt.dir, config: cfg, artifactsDir, ccacheDir: deps.ccacheDir ?? null, sandbox, mirrorRepo: mirror.repo, ...exec, ...sig };
    const compiler = cfg.reuseKernels ? await compilerVersion(["gcc", "-dumpfullversion", "-dumpversion"], deps.exec) : "";
    // The selftests fragment is part of the config: whether the tree has it at this commit.
    const hasSelftestsConfig = async (commit: string) => (await git(["cat-file", "-e", `${commit}:${SELFTESTS_BPF_CONFIG}`], { repo: mirror.repo, okCodes: "any" })).code === 0;
    const keyOf = async (commit: string) => (cfg.reuseKernels ? kernelCacheKey({ commit, config: cfg, hasSelftestsConfig: await hasSelftestsConfig(commit), compiler }) : null);
    const attempt = async (label: "base" | "candidate", commit: string, reuseConfig: boolean): Promise<KernelBuild | BuildFailure> => {
      const key = await keyOf(commit);
      const kept = key ? takeCachedKernel({ artifactsRoot, key, artifactsDir, label }) : null;
      if (kept) return kept;
      try {
        // Only the base (upstream history) may add to the tree's ccache; the series' build reads it.
        const built = await buildKernel({ ...common, label, commit, reuseConfig, ccacheWrite: label === "base" });
        if (key) keepBuiltKernel({ artifactsRoot, key, flowId: job.flowId, build: built });
        return built;
      } catch (e) {
        if (e instanceof BuildFailure) return e;
        throw e;
      }
    };
    if (cfg.compareBase) {
      const b = await attempt("base", apply.baseCommit!, false);
      if (b instanceof BuildFailure) {
        data.base = b.build;
        return done("error", `${b.message} (the base itself does not build: not the series' fault)\n${b.build.logTail.split("\n").slice(-5).join("\n")}`);
      }
      data.base = b;
    }
    // The fragments merged after the base config, named as the report shows them.
    data.config.fragments = planKernelConfig(cfg, { hasSelftestsConfig: existsSync(join(wt.dir, SELFTESTS_BPF_CONFIG)), extrasFile: "" }).fragments.map((f) =>
      f === GUEST_CONFIG ? relative(PROJECT_ROOT, f) : f,
    );
    // After a sandboxed build the worktree is untrusted: address it without reading its .git.
    await git([...worktreeGitArgs(wt), "checkout", "--quiet", "--detach", head]);
    // Incremental on the base's objects when the base was built here; a reused base left none.
    const c = await attempt("candidate", head, cfg.compareBase && !data.base?.reused);
    if (c instanceof BuildFailure) {
      data.candidate = c.build;
      const status: Status = c.kind === "failed" ? "fail" : "error";
      return done(status, `${c.message}\n${c.build.logTail.split("\n").slice(-5).join("\n")}`);
    }
    data.candidate = c;
    data.newWarnings = data.base ? newWarnings(data.base.warnings, c.warnings) : [];
    // The arms' programs from the series' own BPF selftests, built from the candidate tree.
    const programs = seriesBpfNames(job.bench.arms as { settings: VariantSetting[] }[]);
    if (programs.length > 0) {
      // vmlinux.h must be the candidate's own: its vmlinux when built here (the worktree's last
      // build), else the header kept with the kept candidate kernel.
      const key = await keyOf(head);
      const kept = key ? keptVmlinuxHeader(artifactsRoot, key) : null;
      const btf = !c.reused
        ? { vmlinux: true as const }
        : kept && existsSync(kept)
          ? { header: kept }
          : { none: `the candidate kernel was kept from flow ${c.reused.flowId}, which kept no vmlinux.h with it` };
      data.bpfObjects = await buildSeriesBpfObjects({ treeDir: wt.dir, names: programs, artifactsDir, sandbox, btf, keepHeader: c.reused ? null : kept, ...sig });
    }
    // test_progs for the selftests stage's guests, each side's from its own tree (not without a base kernel to run it in).
    const candidateKey = cfg.reuseKernels ? await keyOf(head) : null;
    const testProgs = !data.base?.image ? undefined : await buildFlowTestProgs({
      job,
      repo: mirror.repo,
      baseCommit: apply.baseCommit!,
      head,
      candidateTree: c.reused ? null : wt.dir,
      keptBtf: candidateKey ? keptKernelBtf(artifactsRoot, candidateKey) : null,
      artifactsDir,
      keepIn: cfg.reuseKernels ? artifactsRoot : null,
      git,
      sandbox,
      ...exec,
      ...sig,
    });
    if (testProgs) data.testProgs = testProgs;

    const probe = await buildGuestProbe(join(deps.workDir, "cache"), deps.exec);
    const timeoutMs = job.boot.timeoutSec * 1000;
    if (target.kind === "host") {
      data.boots.push(await target.run({ kernel: null, probe, timeoutMs, artifactsDir, ...sig }));
    } else {
      for (const [label, build] of [["base", data.base], ["candidate", data.candidate]] as const) {
        if (!build?.image) continue;
        data.boots.push(await target.run({ kernel: { label, image: build.image }, probe, timeoutMs, artifactsDir, ...sig }));
      }
    }
    const bootOf = (k: BootRun["kernel"]) => data.boots.find((b) => b.kernel === k);
    data.probeChanges = compareProbes(bootOf("base"), bootOf("candidate"));

    const statuses: Status[] = [];
    const notes: string[] = [describeBuilds(data.base, data.candidate, cfg.baseConfig)];
    if (data.newWarnings.length > 0) {
      statuses.push("warn");
      notes.push(`${data.newWarnings.length} new warning(s): ${data.newWarnings[0]!.file}:${data.newWarnings[0]!.line}`);
    } else notes.push("no new warnings");
    statuses.push(...judgeBoots(data.boots));
    for (const b of data.boots) {
      notes.push(
        b.outcome === "ok"
          ? `${b.kernel} kernel on ${b.target}: ${b.probes.filter((p) => p.status === "pass").length}/${b.probes.length} probes passed`
          : `${b.kernel} kernel on ${b.target}: ${b.outcome} (${b.reason})`,
      );
    }
    for (const ch of data.probeChanges) notes.push(`${ch.name}: ${ch.note}`);
    const objects = data.bpfObjects ?? [];
    if (objects.some((o) => o.object)) notes.push(`built ${objects.filter((o) => o.object).map((o) => o.source).join(", ")} for the arms`);
    if (data.testProgs) notes.push(describeTestProgsBuilds(data.testProgs));
    for (const o of objects.filter((x) => x.problem)) {
      // An arm is an extra: its program not building leaves the base-vs-candidate comparison whole.
      // Only the series' code failing to compile warns; a missing program or BTF is the setup's, said.
      if (!isRunnerSideProblem(o.problem!)) statuses.push("warn");
      notes.push(`${o.source}: ${o.problem}`);
    }
    return done(combineStatus(statuses.length ? statuses : ["pass"]), notes.join("; "));
  });
}
