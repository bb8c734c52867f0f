import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { BootConfig, kselftestsSchema } from "../../config/schema.ts";
import type { SuiteTest } from "../../domain/results.ts";
import type { Git } from "../../lib/git.ts";
import type { Logger } from "../../lib/logger.ts";
import type { Sandbox } from "../../lib/sandbox.ts";
import { ExecError } from "../../lib/exec.ts";
import { bootGuest, type Guest, mountShare } from "../guest/boot-guest.ts";
import { parseKtapOutput } from "../suites/ktap/parse-output.ts";
import type { z } from "zod";
import { classifyKselftest, judgeKselftestRun, type KselftestRun, NOT_PRESENT } from "./classify-kselftest.ts";
import { kselftestList, SELFTESTS_DIR, seriesKselftests } from "./series-kselftests.ts";

export interface KselftestsRequest {
  config: z.infer<typeof kselftestsSchema>;
  boot: BootConfig;
  /** The mirror holding both commits. */
  repo: string;
  baseCommit: string;
  head: string;
  images: { base: string; candidate: string };
  git: Git;
  artifactsDir: string;
  log: Logger;
  sandbox?: Sandbox;
  signal?: AbortSignal;
}

export interface KselftestsOutcome {
  tests: SuiteTest[];
  /** Which kernels ran them, for the stage's `kernel` line. */
  kernels: string;
}

type SideRuns = { ok: true; runs: Map<string, KselftestRun>; ms: Map<string, number>; accel: string } | { ok: false; reason: string; seriesFault: boolean };

/**
 * Kselftests inside the kernels the flow built: each side boots its own kernel as a guest (the
 * runner's root over 9p, as for the bench) with its own tree's tools/testing/selftests shared
 * read-only, runs each test program there (cwd: its folder, KTAP read from its output) and is
 * shut down; each test is then judged base against candidate (classifyKselftest).
 */
export async function runKselftests(req: KselftestsRequest): Promise<KselftestsOutcome> {
  const raw = await req.git(["diff", "--raw", "-z", "--no-renames", req.baseCommit, req.head, "--", SELFTESTS_DIR], { repo: req.repo });
  const { run, notRun } = kselftestList(req.config.tests, req.config.fromSeries ? seriesKselftests(raw.stdout) : [], req.config.maxFromSeries);
  const tests: SuiteTest[] = notRun.map((p) => ({ suite: "kselftest", name: p, status: "skip", detail: `not run: over kselftests.maxFromSeries (${req.config.maxFromSeries})`, durationMs: 0 }));
  if (run.length === 0) return { tests, kernels: "none (no kselftests named or added by the series)" };
  const tmp = mkdtempSync(join(tmpdir(), "pbk-"));
  try {
    const side = async (label: "base" | "candidate", commit: string): Promise<SideRuns> => {
      const tar = join(tmp, `${label}.tar`);
      const archived = await req.git(["archive", "--format=tar", "-o", tar, commit, "--", SELFTESTS_DIR], { repo: req.repo, okCodes: "any" });
      if (archived.code !== 0) {
        // The tree has no selftests folder at this commit: every test is absent on this side.
        return { ok: true, runs: new Map(run.map((p) => [p, NOT_PRESENT])), ms: new Map(), accel: "-" };
      }
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
        const root = join(await mountShare(g), SELFTESTS_DIR);
        const runs = new Map<string, KselftestRun>();
        const ms = new Map<string, number>();
        for (const path of run) {
          const t0 = Date.now();
          runs.set(path, await runOne(g, join(root, path), req.config.timeoutSec, req.signal));
          ms.set(path, Date.now() - t0);
        }
        return { ok: true, runs, ms, accel: g.accel };
      } finally {
        await g.shutdown().catch(() => undefined);
      }
    };
    const base = await side("base", req.baseCommit);
    const cand = await side("candidate", req.head);
    if (!cand.ok) {
      const status = cand.seriesFault && base.ok ? "fail" : "error";
      for (const p of run) tests.push({ suite: "kselftest", name: p, status, detail: `the candidate kernel did not come up for its kselftests (${cand.reason})`, durationMs: 0 });
      return { tests, kernels: "candidate kernel did not boot" };
    }
    for (const p of run) {
      tests.push(classifyKselftest(p, base.ok ? (base.runs.get(p) ?? null) : null, cand.runs.get(p)!, cand.ms.get(p) ?? 0));
    }
    const note = base.ok ? "" : ` (the base kernel did not boot: ${base.reason})`;
    return { tests, kernels: `base and candidate kernels under QEMU ${cand.accel}${note}` };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** One test program in a guest: absent, or run in its own folder and judged from exit and KTAP. */
async function runOne(g: Guest, abs: string, timeoutSec: number, signal?: AbortSignal): Promise<KselftestRun> {
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
