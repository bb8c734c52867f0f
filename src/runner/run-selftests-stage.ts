import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ApplyData, BuildData, SelftestsData, StageResult, SuiteTest } from "../domain/results.ts";
import type { Git } from "../lib/git.ts";
import type { Logger } from "../lib/logger.ts";
import type { Sandbox } from "../lib/sandbox.ts";
import { mirrorWithTip } from "./apply/apply-tip.ts";
import { flowRef } from "./apply/flow-ref.ts";
import { runSelftestsInKernels } from "./kselftests/run-selftests-in-kernels.ts";
import { ensureMirror } from "./workspace/ensure-mirror.ts";
import { suiteTargetOf } from "./suites/suite-target.ts";
import { combineStatus } from "../domain/status.ts";
import { type Exec, ExecError, exec as defaultExec } from "../lib/exec.ts";
import type { StageJob } from "../queue/payloads.ts";
import { runHostProbes } from "./probes/run-host-probes.ts";
import { runSockopsProbe } from "./probes/run-sockops-probe.ts";
import { SUITES, type TestProgsSuite } from "./suites/registry.ts";
import type { TestProgsRun } from "./suites/test-progs/classify-run.ts";
import { onPath } from "../lib/on-path.ts";

export interface SelftestsDeps {
  runner: string;
  /** Cache for compiled probes (default <tmp>/patchbench-cache). */
  cacheDir?: string;
  exec?: Exec;
  signal?: AbortSignal;
  /** For kselftests in the built kernels: the flow's build and apply results and the runner's git. */
  kernels?: {
    build: BuildData | null;
    apply: ApplyData | null;
    git: Git;
    workDir: string;
    log: Logger;
    sandbox?: Sandbox;
  };
}

/** Run one test_progs suite: a missing binary or a test the tree lacks is said so, never a fail. */
export async function runTestProgsSuite(suite: TestProgsSuite, testProgs: string, deps: { exec: Exec; signal?: AbortSignal }): Promise<SuiteTest> {
  const started = Date.now();
  let run: TestProgsRun;
  if (testProgs.includes("/") && !existsSync(testProgs)) {
    run = { spawnError: { code: "ENOENT", message: testProgs }, exitCode: null, signal: null, output: null };
  } else {
    try {
      const r = await deps.exec(suite.command({ testProgs }), {
        okCodes: "any",
        timeoutMs: 1800_000,
        maxOutput: 16 * 1024 * 1024,
        ...(deps.signal ? { signal: deps.signal } : {}),
      });
      run = { spawnError: null, exitCode: r.code, signal: r.signal, output: suite.parse(r.stdout) };
    } catch (e) {
      if (!(e instanceof ExecError)) throw e;
      const notFound = /command not found/.test(e.message);
      run = e.result.timedOut
        ? { spawnError: null, exitCode: null, signal: "SIGKILL", output: suite.parse(e.result.stdout) }
        : { spawnError: { code: notFound ? "ENOENT" : "EIO", message: e.message }, exitCode: null, signal: null, output: null };
    }
  }
  const outcome = suite.classify(run);
  return { suite: suite.id, name: suite.id, status: outcome.status, detail: outcome.reason, durationMs: Date.now() - started };
}

/** Pure: "2 passed, 3 skipped of 5" — a skip is neither a pass nor a failure. */
export function selftestCounts(tests: readonly SuiteTest[]): string {
  const n = (s: SuiteTest["status"]) => tests.filter((t) => t.status === s).length;
  const parts = [`${n("pass")} passed`];
  for (const [s, word] of [["fail", "failed"], ["warn", "warned"], ["error", "could not run"], ["skip", "skipped"]] as const) {
    if (n(s) > 0) parts.push(`${n(s)} ${word}`);
  }
  return `${parts.join(", ")} of ${tests.length}`;
}

/**
 * The selftests stage: on the runner's own kernel the host probes (TCP
 * round trip, user-space and BPF SO_BUSY_POLL) and the named test_progs
 * suites of the registry (tcp_splice, so_busy_poll) that apply to the series;
 * when the flow built kernels, the tree's kselftests inside the base and the
 * candidate kernel, each judged against the other.
 */
export async function runSelftestsStage(job: StageJob, deps: SelftestsDeps): Promise<StageResult<SelftestsData>> {
  const startedAt = new Date().toISOString();
  const exec = deps.exec ?? defaultExec;
  const sig = deps.signal ? { signal: deps.signal } : {};
  const tests: SuiteTest[] = [];
  const target = suiteTargetOf(job);
  // A suite whose test is in the test_progs built from the flow's trees runs inside both kernels
  // instead (below); one neither tree has runs here, with the runner's test_progs, as before.
  const b = deps.kernels?.build;
  const tp = job.testProgs && b?.base?.image && b.candidate?.image ? b.testProgs : undefined;
  const inKernels = (id: string) => {
    const test = SUITES.get(id)?.filter.split("/")[0];
    return test !== undefined && [tp?.base, tp?.candidate].some((x) => x?.dir && x.present.includes(test));
  };
  for (const id of job.suites) {
    if (inKernels(id)) continue;
    if (id === "host-probes") {
      tests.push(...(await runHostProbes({ exec, ...sig })));
      tests.push(await runSockopsProbe({ cacheDir: deps.cacheDir ?? join("/tmp", "patchbench-cache"), exec, ...sig }));
      continue;
    }
    const suite = SUITES.get(id);
    if (!suite) {
      tests.push({ suite: id, name: id, status: "error", detail: `unknown suite "${id}" on this runner`, durationMs: 0 });
    } else if (!suite.appliesTo(target)) {
      tests.push({ suite: id, name: id, status: "skip", detail: `${suite.skipReason(target)} (${suite.describe})`, durationMs: 0 });
    } else if (job.build.testProgs === null && !onPath("test_progs")) {
      // Not configured and not installed: this runner has no test_progs (a fact, not a failure).
      tests.push({ suite: id, name: id, status: "skip", detail: "test_progs is not installed on this runner (set build.testProgs)", durationMs: 0 });
    } else {
      tests.push(await runTestProgsSuite(suite, job.build.testProgs ?? "test_progs", { exec, ...sig }));
    }
  }
  const onHost = job.suites.filter((id) => !inKernels(id));
  const kernels: string[] = onHost.length > 0 ? ["runner's own (host)"] : [];
  const names = [...onHost];
  const k = await selftestsInKernels(job, deps);
  // None named and none in the series: nothing is said about selftests in the kernels.
  if (k && k.tests.length > 0) {
    tests.push(...k.tests);
    const kinds = [...new Set(k.tests.map((t) => (t.suite === "test_progs" ? "test_progs" : "kselftests")))].join(" and ");
    kernels.push(`${kinds}: ${k.kernels}`);
    names.push(kinds);
  }
  const status = combineStatus(tests.map((t) => t.status));
  return {
    stage: "selftests",
    status,
    summary: `${selftestCounts(tests)} (${names.join(", ") || "nothing to run"})`,
    startedAt,
    endedAt: new Date().toISOString(),
    runner: deps.runner,
    data: { tests, kernel: kernels.join("; ") || "none" },
  };
}

/** The tree's kselftests and the flow's test_progs tests in the base and candidate kernels, when the flow built both; null otherwise. */
async function selftestsInKernels(job: StageJob, deps: SelftestsDeps): Promise<{ tests: SuiteTest[]; kernels: string } | null> {
  const k = deps.kernels;
  const cfg = job.kselftests;
  const builds = job.testProgs ? k?.build?.testProgs : undefined;
  if (!k || (cfg.tests.length === 0 && !cfg.fromSeries && !builds)) return null;
  const base = k.build?.base?.image;
  const candidate = k.build?.candidate?.image;
  if (!base || !candidate || !k.apply?.baseCommit || !k.apply.head) return null;
  const sig = deps.signal ? { signal: deps.signal } : {};
  const mirror = await ensureMirror(job.tree, { git: k.git, workDir: k.workDir, fetchIntervalMs: 600_000, ...sig });
  const known = await k.git(["rev-parse", "--verify", "--quiet", `${flowRef(job.flowId)}^{commit}`], { repo: mirror.repo, okCodes: "any" });
  // A tree tip's commits are the tree's own: fetched here when apply ran elsewhere.
  if (known.code !== 0 && job.tip) await mirrorWithTip(job, job.tip, { git: k.git, workDir: k.workDir, ...sig });
  else if (known.code !== 0) {
    const detail = "the applied series is not in this runner's mirror (apply ran elsewhere)";
    return { tests: [{ suite: "kselftest", name: "kselftests", status: "error", detail, durationMs: 0 }], kernels: "not run" };
  }
  return runSelftestsInKernels({
    kselftests: cfg,
    testProgs: builds && job.testProgs ? { builds, timeoutSec: job.testProgs.timeoutSec } : null,
    boot: job.boot,
    repo: mirror.repo,
    baseCommit: k.apply.baseCommit,
    head: k.apply.head,
    images: { base, candidate },
    git: k.git,
    artifactsDir: join(k.workDir, "artifacts", job.flowId),
    log: k.log,
    ...(k.sandbox ? { sandbox: k.sandbox } : {}),
    ...sig,
  });
}
