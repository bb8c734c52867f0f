import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import type { z } from "zod";
import type { BootConfig, kselftestsSchema } from "../../config/schema.ts";
import type { SuiteTest, TestProgsBuild, TestProgsBuilds, TestProgsSelection } from "../../domain/results.ts";
import { type Exec, ExecError, exec as defaultExec } from "../../lib/exec.ts";
import type { Git } from "../../lib/git.ts";
import type { Logger } from "../../lib/logger.ts";
import type { Sandbox } from "../../lib/sandbox.ts";
import { NO_BPF_SELFTESTS } from "../build/build-test-progs.ts";
import { bootGuest, type Guest, mountShare } from "../guest/boot-guest.ts";
import { parseKtapOutput } from "../suites/ktap/parse-output.ts";
import { classifyTestProgsRun } from "../suites/test-progs/classify-run.ts";
import { parseTestProgsOutput } from "../suites/test-progs/parse-output.ts";
import { classifyKselftest, failing, judgeKselftestRun, type KselftestRun, NOT_PRESENT } from "./classify-kselftest.ts";
import { kselftestList, SELFTESTS_DIR, seriesKselftests } from "./series-kselftests.ts";

export interface KernelSelftestsRequest {
  kselftests: z.infer<typeof kselftestsSchema>;
  /** test_progs built for each side by the build stage, and the deadline of one run. */
  testProgs: { builds: TestProgsBuilds; timeoutSec: number } | null;
  boot: BootConfig;
  /** The mirror holding both commits. */
  repo: string;
  baseCommit: string;
  head: string;
  images: { base: string; candidate: string };
  /** The flow's artifacts folder (guest consoles go there). */
  artifactsDir: string;
  git: Git;
  log: Logger;
  exec?: Exec;
  sandbox?: Sandbox;
  signal?: AbortSignal;
}

export interface KselftestsOutcome {
  tests: SuiteTest[];
  /** Which kernels ran them, for the stage's `kernel` line. */
  kernels: string;
}

type Label = "base" | "candidate";
type SideRuns = { ok: true; runs: Map<string, KselftestRun>; ms: Map<string, number>; accel: string } | { ok: false; reason: string; seriesFault: boolean };
const key = (suite: "kselftest" | "test_progs", name: string) => `${suite}:${name}`;

/**
 * A side's run of a test_progs selection when it cannot run in the guest: absent, or why there is
 * no binary — the series' failure when its test_progs does not compile while the base's does.
 */
export function withoutRun(build: TestProgsBuild | null, sel: TestProgsSelection, otherBuilt: boolean): KselftestRun | null {
  // A tree without BPF selftests has no test_progs to build: skipped, with the reason.
  if (build?.problem?.startsWith(NO_BPF_SELFTESTS)) return { present: true, status: "skip", detail: build.problem, failed: [] };
  if (build?.problem) {
    const seriesFault = build.label === "candidate" && otherBuilt && build.problem.startsWith("test_progs does not build:") && !build.problem.includes("deadline");
    return { present: true, status: seriesFault ? "fail" : "error", detail: build.problem, failed: [] };
  }
  if (!build?.dir || !build.present.includes(sel.test)) return NOT_PRESENT;
  if (!existsSync(join(build.dir, "test_progs"))) return { present: true, status: "error", detail: `test_progs was built on another runner (${build.dir} is not here)`, failed: [] };
  return null;
}

/**
 * Selftests inside the kernels the flow built: each side boots its own kernel once as a guest
 * (the runner's root over 9p, as for the bench) with its own tree's tools/testing/selftests and
 * its own test_progs shared read-only, runs each kselftest (cwd: its folder, KTAP read from its
 * output) and each test_progs selection there, and is shut down; each test is then judged base
 * against candidate (classifyKselftest).
 */
export async function runSelftestsInKernels(req: KernelSelftestsRequest): Promise<KselftestsOutcome> {
  const exec = req.exec ?? defaultExec;
  const raw = await req.git(["diff", "--raw", "-z", "--no-renames", req.baseCommit, req.head, "--", SELFTESTS_DIR], { repo: req.repo });
  const { run, notRun } = kselftestList(req.kselftests.tests, req.kselftests.fromSeries ? seriesKselftests(raw.stdout) : [], req.kselftests.maxFromSeries);
  const tp = req.testProgs;
  const builds = tp?.builds;
  const has = (b: TestProgsBuild | null | undefined, test: string) => b?.dir !== null && b?.dir !== undefined && b.present.includes(test);
  // A suite's test that neither tree has is left to the host run (the operator's test_progs), not reported twice.
  const selections = (builds?.selections ?? []).filter((s) => s.from !== "suite" || has(builds?.base, s.test) || has(builds?.candidate, s.test));
  const tests: SuiteTest[] = [
    ...notRun.map((p): SuiteTest => ({ suite: "kselftest", name: p, status: "skip", detail: `not run: over kselftests.maxFromSeries (${req.kselftests.maxFromSeries})`, durationMs: 0 })),
    ...(tp?.builds.notRun ?? []).map((t): SuiteTest => ({ suite: "test_progs", name: t, status: "skip", detail: "not run: over testProgs.maxFromSeries", durationMs: 0 })),
  ];
  if (run.length === 0 && selections.length === 0) return { tests, kernels: "none (no kselftests or test_progs tests named or added by the series)" };
  const tmp = mkdtempSync(join(tmpdir(), "pbk-"));
  try {
    const side = async (label: Label, commit: string): Promise<SideRuns> => {
      const build = builds?.[label] ?? null;
      const other = builds?.[label === "base" ? "candidate" : "base"];
      const otherBuilt = other !== undefined && other !== null && other.problem === null;
      const runs = new Map<string, KselftestRun>();
      const tar = join(tmp, `${label}.tar`);
      const archived = run.length > 0 ? await req.git(["archive", "--format=tar", "-o", tar, commit, "--", SELFTESTS_DIR], { repo: req.repo, okCodes: "any" }) : null;
      if (archived?.code !== 0) {
        // The tree has no selftests folder at this commit: every kselftest is absent on this side
        // (and git leaves an empty tar behind, which is not a reason to boot).
        for (const p of run) runs.set(key("kselftest", p), NOT_PRESENT);
        rmSync(tar, { force: true });
      }
      const toRun = selections.filter((s) => {
        const without = withoutRun(build, s, otherBuilt);
        if (without) runs.set(key("test_progs", s.filter), without);
        return without === null;
      });
      // In the share as test_progs-<side>/ (the build stage's folder), beside tools/testing/selftests.
      if (toRun.length > 0) await exec(["tar", existsSync(tar) ? "-rf" : "-cf", tar, "-C", dirname(build!.dir!), basename(build!.dir!)], { timeoutMs: 300_000 });
      if (!existsSync(tar)) return { ok: true, runs, ms: new Map(), accel: "-" };
      const booted = await bootGuest({
        label: `kselftests-${label}`,
        kernel: req.images[label],
        qemu: req.boot.qemu,
        timeoutMs: req.boot.timeoutSec * 1000,
        artifactsDir: req.artifactsDir,
        shareTar: tar,
        ...(req.sandbox ? { sandbox: req.sandbox } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
      });
      if (!booted.ok) return { ok: false, reason: `${booted.outcome}: ${booted.reason}`, seriesFault: booted.outcome !== "error" };
      const g = booted.guest;
      try {
        const share = await mountShare(g);
        const ms = new Map<string, number>();
        const timed = async (k: string, f: () => Promise<KselftestRun>) => {
          const t0 = Date.now();
          runs.set(k, await f());
          ms.set(k, Date.now() - t0);
        };
        if (archived?.code === 0) {
          for (const path of run) await timed(key("kselftest", path), () => runKselftest(g, join(share, SELFTESTS_DIR, path), req.kselftests.timeoutSec, req.signal));
        }
        for (const s of toRun) await timed(key("test_progs", s.filter), () => runTestProgs(g, join(share, basename(build!.dir!)), s, tp!.timeoutSec, req.signal));
        return { ok: true, runs, ms, accel: g.accel ?? "-" };
      } finally {
        await g.shutdown().catch(() => undefined);
      }
    };
    const base = await side("base", req.baseCommit);
    const cand = await side("candidate", req.head);
    const all = [...run.map((p) => ["kselftest", p] as const), ...selections.map((s) => ["test_progs", s.filter] as const)];
    if (!cand.ok) {
      const status = cand.seriesFault && base.ok ? "fail" : "error";
      for (const [suite, name] of all) tests.push({ suite, name, status, detail: `the candidate kernel did not come up for its selftests (${cand.reason})`, durationMs: 0 });
      return { tests, kernels: "candidate kernel did not boot" };
    }
    for (const [suite, name] of all) {
      const k = key(suite, name);
      tests.push({ ...classifyKselftest(name, base.ok ? (base.runs.get(k) ?? null) : null, cand.runs.get(k)!, cand.ms.get(k) ?? 0), suite });
    }
    const note = base.ok ? "" : ` (the base kernel did not boot: ${base.reason})`;
    return { tests, kernels: `base and candidate kernels under QEMU ${cand.accel === "-" && base.ok ? base.accel : cand.accel}${note}` };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** One test program in a guest: absent, or run in its own folder and judged from exit and KTAP. */
async function runKselftest(g: Guest, abs: string, timeoutSec: number, signal?: AbortSignal): Promise<KselftestRun> {
  const there = await g.exec(["test", "-x", abs], { okCodes: "any", timeoutMs: 30_000 });
  if (there.code !== 0) return NOT_PRESENT;
  try {
    const r = await g.exec([abs], { okCodes: "any", timeoutMs: timeoutSec * 1000, cwd: dirname(abs), ...(signal ? { signal } : {}) });
    return judgeKselftestRun({ code: r.code, signal: r.signal, timedOut: false, timeoutSec, ktap: parseKtapOutput(r.stdout) });
  } catch (e) {
    if (e instanceof ExecError && e.result.timedOut) {
      return judgeKselftestRun({ code: null, signal: "SIGKILL", timedOut: true, timeoutSec, ktap: parseKtapOutput(e.result.stdout) });
    }
    if (e instanceof ExecError) return { present: true, status: "error", detail: e.message, failed: [] };
    throw e;
  }
}

/** One `test_progs -t <filter>` in a guest, in its folder (tests open their objects from there), judged by the one classifier. */
async function runTestProgs(g: Guest, dir: string, sel: TestProgsSelection, timeoutSec: number, signal?: AbortSignal): Promise<KselftestRun> {
  const argv = [join(dir, "test_progs"), "-t", sel.filter];
  let r: { code: number | null; signal: string | null; stdout: string };
  try {
    r = await g.exec(argv, { okCodes: "any", timeoutMs: timeoutSec * 1000, cwd: dir, maxOutput: 16 * 1024 * 1024, ...(signal ? { signal } : {}) });
  } catch (e) {
    if (!(e instanceof ExecError)) throw e;
    if (!e.result.timedOut) return { present: true, status: "error", detail: e.message, failed: [] };
    r = { code: null, signal: "SIGKILL", stdout: e.result.stdout };
  }
  // -t matches substrings (foo also runs foo_bar): only the selected test's lines are judged.
  const parsed = parseTestProgsOutput(r.stdout);
  const output = { ...parsed, tests: parsed.tests.filter((t) => t.name === sel.test) };
  const o = classifyTestProgsRun({ spawnError: null, exitCode: r.code, signal: r.signal, output }, sel.subtest === undefined ? { test: sel.test } : { test: sel.test, subtest: sel.subtest });
  if (o.status === "skip" && o.reason.startsWith("test not present")) return NOT_PRESENT;
  const detail = r.code === null ? `timed out after ${timeoutSec} s; ${o.reason}` : o.reason;
  return { present: true, status: o.status, detail, failed: failing(o.tests) };
}
