import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { release } from "node:os";
import { dirname, join } from "node:path";
import type { TestProgsBuild, TestProgsBuilds } from "../../domain/results.ts";
import type { Exec } from "../../lib/exec.ts";
import type { Git } from "../../lib/git.ts";
import type { Sandbox } from "../../lib/sandbox.ts";
import type { StageJob } from "../../queue/payloads.ts";
import { applyingTestProgsSuites } from "../suites/suite-target.ts";
import { isInside } from "./build-kernel.ts";
import { buildTestProgs, extractBtf, testProgsDirName } from "./build-test-progs.ts";
import { compilerVersion } from "./compiler-version.ts";
import { keepTestProgs, sha256File, takeCachedTestProgs, testProgsCacheKey } from "./test-progs-cache.ts";
import { BPF_SELFTESTS_DIR, seriesProgTests, testProgsSelections, testsDefinedIn } from "./plan-test-progs.ts";

const RUNNER_BTF = "/sys/kernel/btf/vmlinux";

export interface FlowTestProgsRequest {
  job: StageJob;
  repo: string;
  baseCommit: string;
  head: string;
  /** The worktree whose last build is the candidate's (its vmlinux), or null when the kernel was kept. */
  candidateTree: string | null;
  /** The raw BTF kept with the kept candidate kernel (written here after a fresh build), or null. */
  keptBtf: string | null;
  artifactsDir: string;
  /** Where kept builds live (beside the kept kernels); null: build every time. */
  keepIn: string | null;
  git: Git;
  sandbox: Sandbox;
  exec?: Exec;
  signal?: AbortSignal;
}

/**
 * The flow's test_progs tests (configured, the applying suites', the series' own) and a
 * test_progs built for each of them from the base's and the candidate's tree, for the selftests
 * stage to run inside each kernel. Undefined when the flow asks for none.
 */
export async function buildFlowTestProgs(r: FlowTestProgsRequest): Promise<TestProgsBuilds | undefined> {
  const cfg = r.job.testProgs;
  if (!cfg) return undefined;
  const sig = r.signal ? { signal: r.signal } : {};
  let fromSeries: string[] = [];
  if (cfg.fromSeries) {
    const raw = await r.git(["diff", "--raw", "-z", "--no-renames", r.baseCommit, r.head, "--", `${BPF_SELFTESTS_DIR}/prog_tests`], { repo: r.repo, ...sig });
    const show = async (rev: string, path: string) => (await r.git(["show", `${rev}:${path}`], { repo: r.repo, maxOutput: 4 * 1024 * 1024, okCodes: "any", ...sig })).stdout;
    for (const path of seriesProgTests(raw.stdout)) {
      // A file holding many tests (verifier.c) where the series adds one: the new ones, not all.
      const now = testsDefinedIn(await show(r.head, path));
      const before = new Set(testsDefinedIn(await show(r.baseCommit, path)));
      const added = now.filter((t) => !before.has(t));
      fromSeries.push(...(added.length > 0 ? added : now));
    }
    fromSeries = [...new Set(fromSeries)];
  }
  const suites = applyingTestProgsSuites(r.job).map((s) => s.filter);
  const { run, notRun } = testProgsSelections(cfg.tests, suites, fromSeries, cfg.maxFromSeries);
  if (run.length === 0) return undefined;

  // vmlinux.h for the BPF programs: the candidate's own BTF when it has some (from this build, or
  // kept with a kept kernel), else the runner's. Raw BTF: the same bytes for the same kernel.
  mkdirSync(r.artifactsDir, { recursive: true });
  const vmlinux = r.candidateTree ? join(r.candidateTree, "vmlinux") : null;
  const ownBtf = join(r.artifactsDir, "vmlinux-candidate.btf");
  const own = vmlinux !== null && isInside(r.candidateTree!, vmlinux) && extractBtf(vmlinux, ownBtf);
  if (own && r.keptBtf && existsSync(dirname(r.keptBtf)) && !existsSync(r.keptBtf)) copyFileSync(ownBtf, r.keptBtf);
  const kept = !own && r.keptBtf !== null && existsSync(r.keptBtf);
  const btf = own ? ownBtf : kept ? r.keptBtf! : existsSync(RUNNER_BTF) ? RUNNER_BTF : null;
  const btfFrom = own
    ? "the candidate kernel's BTF"
    : kept
      ? "the candidate kernel's BTF (kept with the kept kernel)"
      : btf
        ? `the runner's kernel BTF (${release()}): the candidate kernel has none (CONFIG_DEBUG_INFO_BTF)`
        : "none";
  const tests = [...new Set(run.map((s) => s.test))];
  const reuse = r.keepIn !== null && btf !== null ? { root: r.keepIn, btfSha256: sha256File(btf), compiler: await compilerVersion(["clang", "--version"], r.exec) } : null;
  const side = async (label: "base" | "candidate", commit: string): Promise<TestProgsBuild> => {
    if (!btf) return { label, dir: null, present: [], problem: "no BTF for vmlinux.h: the candidate kernel has none and neither has the runner's", seconds: 0 };
    const key = reuse ? testProgsCacheKey({ commit, tests, btfSha256: reuse.btfSha256, compiler: reuse.compiler }) : null;
    const kept = key ? takeCachedTestProgs({ artifactsRoot: reuse!.root, key, dir: join(r.artifactsDir, testProgsDirName(label)), label }) : null;
    if (kept) return kept;
    try {
      const built = await buildTestProgs({ label, repo: r.repo, commit, tests, btf, artifactsDir: r.artifactsDir, git: r.git, sandbox: r.sandbox, timeoutMs: cfg.buildTimeoutSec * 1000, ...sig });
      if (key) keepTestProgs({ artifactsRoot: reuse!.root, key, flowId: r.job.flowId, build: built });
      return built;
    } catch (e) {
      // Not the series' code failing (that is a `problem` already): the runner's side, said, never a thrown stage.
      if (r.signal?.aborted) throw e;
      return { label, dir: null, present: [], problem: `test_progs could not be built here: ${(e as Error).message.split("\n")[0]}`, seconds: 0 };
    }
  };
  const base = await side("base", r.baseCommit);
  const candidate = await side("candidate", r.head);
  return { selections: run, notRun, btfFrom, base, candidate };
}
