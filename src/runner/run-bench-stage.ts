import { plural } from "../report/text-layout.ts";
import type { BenchSample, Cell, Variant, VariantSetting } from "../domain/bench.ts";
import { join } from "node:path";
import type { BenchData, BuildData, KernelSidesInfo, StageResult } from "../domain/results.ts";
import { combineStatus, type Status } from "../domain/status.ts";
import { resolveSeriesBpf } from "../domain/series-bpf-program.ts";
import type { Logger } from "../lib/logger.ts";
import type { Sandbox } from "../lib/sandbox.ts";
import type { StageJob } from "../queue/payloads.ts";
import { buildNetperfArgv } from "./bench/netperf-command.ts";
import { runBenchPlan } from "./bench/run-matrix.ts";
import { benchPlanOf, cellsOf } from "../domain/bench-plan.ts";
import { kernelVariants, openKernelSides } from "./bench/kernel-sides.ts";
import { assertPlanRunnable, runBenchSessions } from "./bench/run-bench-sessions.ts";
import { describeVariant } from "./bench/variant-plan.ts";
import { collectMachineProfile, tuningWarnings } from "./bench/machine-profile.ts";
import { describeKernelProfile, describeProfile } from "./bench/describe-profile.ts";

/** Commands a maintainer can paste to repeat one run of each cell by hand. */
export function reproduceCommands(bench: StageJob["bench"], cells: readonly Cell[], variants: readonly Variant[]): string[] {
  const out: string[] = [];
  for (const v of variants) {
    const s = v.settings.flatMap((x) => (x.kind === "sysctl" ? [`${x.key}=${x.value}`] : []));
    if (s.length) out.push(`# ${v.name}: sysctl -w ${s.join(" ")}`);
    const other = v.settings.filter((x) => x.kind !== "sysctl" && x.kind !== "kernel");
    if (other.length) out.push(`# ${v.name}: ${describeVariant({ name: v.name, settings: other })}`);
  }
  const servers = new Set<string>();
  for (const c of cells) {
    const remote = c.topology === "remote" ? bench.remote : null;
    const host = remote ? remote.dataAddr : c.topology === "loopback" ? "127.0.0.1" : c.topology === "container" ? "192.0.2.2" : "198.51.100.2";
    const ns = c.topology === "loopback" || c.topology === "remote" ? null : "pb-client";
    const port = remote ? remote.netserverPort : 12865;
    if (!servers.has(c.topology)) {
      servers.add(c.topology);
      if (ns) out.push(`# ${c.topology}: two network namespaces, see README "Topologies"`);
      if (remote) out.push(`# remote: on the peer ${remote.user}@${remote.host}: netserver -L ${host},inet -p ${port} -D`);
      else out.push(`${ns ? "ip netns exec pb-server " : ""}netserver -L ${host},inet -p ${port} -D &`);
    }
    out.push(
      buildNetperfArgv({
        test: c.test,
        host,
        port,
        durationSec: bench.durationSec,
        size: c.size,
        pinning: bench.pinning,
        netns: ns,
        keys: ["THROUGHPUT", "MEAN_LATENCY", "P99_LATENCY"],
      }).join(" "),
    );
  }
  return out;
}

/** Which sides a bench stage compares: kernels when the flow built them (or when asked to), else settings. */
export function benchSidesOf(b: StageJob["bench"], build: BuildData | null): "kernels" | "settings" {
  if (b.sides !== "auto") return b.sides;
  return build !== null ? "kernels" : "settings";
}

interface BenchStageDeps {
  log: Logger;
  runner: string;
  journalPath: string;
  /** Where per-flow artifacts (guest consoles) go: <workDir>/artifacts/<flow>. */
  workDir: string;
  /** The build stage's result in this flow (kernel images), or null when the flow built nothing. */
  build?: BuildData | null;
  /** Where QEMU guests run (runner.sandbox). */
  sandbox?: Sandbox;
  signal?: AbortSignal;
  /** Adaptive rounds: asked after each extra pair of rounds (wired by the worker from src/stats). */
  decide?: (samples: readonly BenchSample[]) => "stop" | "continue";
}

/**
 * The bench stage: the tree's netperf matrix. With kernel sides (a flow that
 * built kernels) the base and the candidate kernel are booted as guests (afresh
 * each round, `bench.bootEvery`) and measured inside them, interleaved; with settings sides the two
 * variants run on this host's kernel.
 */
export async function runBenchStage(job: StageJob, deps: BenchStageDeps): Promise<StageResult<BenchData>> {
  const startedAt = new Date().toISOString();
  const b = job.bench;
  const cells = cellsOf(b);
  const build = deps.build ?? null;
  const sides = benchSidesOf(b, build);
  const done = (status: Status, summary: string, data: Partial<BenchData> & Pick<BenchData, "variants" | "samples" | "profile" | "warnings" | "problems" | "commands">): StageResult<BenchData> => ({
    stage: "bench",
    status,
    summary,
    startedAt,
    endedAt: new Date().toISOString(),
    runner: deps.runner,
    data: {
      cells,
      design: b.design,
      rounds: Math.max(0, ...data.samples.map((s) => s.round + 1)),
      runsPerRound: b.runsPerRound,
      durationSec: b.durationSec,
      warmup: b.warmup,
      warmupRounds: b.warmupRounds,
      pinning: b.pinning,
      ...data,
    },
  });
  if (sides === "settings") {
    const variants = b.variants as [Variant, Variant];
    const out = await runBenchPlan(benchPlanOf(b, { adaptive: deps.decide !== undefined }), {
      log: deps.log,
      journalPath: deps.journalPath,
      budgetSec: b.budgetSec,
      remote: b.remote,
      // A sysctl or BPF attach takes effect for the next socket: per-cell switching needs no 2 s settle.
      ...(b.pairing !== "side" ? { settleMs: 200 } : {}),
      ...(deps.signal ? { signal: deps.signal } : {}),
      ...(deps.decide ? { decide: deps.decide } : {}),
    });
    const okRuns = out.samples.filter((s) => s.ok).length;
    const failedRuns = out.samples.length - okRuns;
    return done(
      out.aborted ? "error" : combineStatus([out.problems.length > 0 || failedRuns > 0 ? "warn" : "pass"]),
      `${plural(cells.length, "cell")} x 2 variants, ${okRuns} runs${failedRuns ? `, ${failedRuns} failed` : ""}`,
      {
        variants,
        samples: out.samples,
        profile: describeProfile(out.profile, out.peerKernel),
        warnings: tuningWarnings(out.profile),
        // Arms are sides on the candidate kernel: without kernel sides there is none to put them on.
        problems: [...out.problems, ...(b.arms.length ? [`bench.arms (${b.arms.map((a) => a.name).join(", ")}) not run: arms need kernel sides (a flow that builds kernels)`] : [])],
        commands: reproduceCommands(job.bench, cells, variants),
      },
    );
  }
  return runKernelBench(job, deps, build, done);
}

async function runKernelBench(
  job: StageJob,
  deps: BenchStageDeps,
  build: BuildData | null,
  done: (status: Status, summary: string, data: Partial<BenchData> & Pick<BenchData, "variants" | "samples" | "profile" | "warnings" | "problems" | "commands">) => StageResult<BenchData>,
): Promise<StageResult<BenchData>> {
  // A bare-metal ssh target holds one kernel: a boot (kexec) at every change of side, sides measured whole.
  const b: StageJob["bench"] = job.boot.target === "ssh" ? { ...job.bench, bootEvery: "side" } : job.bench;
  const cells = cellsOf(b);
  // Arms with programs from the series get the objects the build stage made; one whose program did not build is left out, said.
  const resolved = resolveSeriesBpf(b.arms as (StageJob["bench"]["arms"][number] & { settings: VariantSetting[] })[], build?.bpfObjects ?? []);
  const variants = kernelVariants(b.kernelSettings as VariantSetting[], resolved.arms);
  const arms = resolved.arms.map((a) => ({ variant: a.name, claimedAs: a.claimedAs }));
  const host = await collectMachineProfile({});
  const dropped = resolved.dropped.map((d) => d.why);
  const empty = { variants, arms, samples: [], profile: describeProfile(host), warnings: [], problems: [...dropped], commands: [] };
  if (cells.some((c) => c.topology === "remote")) {
    const why = "the remote topology measures the runner's own kernel against a peer: it runs with settings sides (bench.sides: settings), not in kernel guests";
    return done("error", why, { ...empty, problems: [why] });
  }
  if (!build?.base?.image || !build.candidate?.image) {
    const why = !build ? "the flow built no kernels (add build to the tree's stages, or set bench.sides: settings)" : "the build stage left no base and candidate kernel images";
    return done("skip", `skipped: ${why}`, { ...empty, problems: [why] });
  }
  const plan = benchPlanOf({ ...b, variants }, { adaptive: deps.decide !== undefined });
  const runDeps = { budgetSec: b.budgetSec, settleMs: GUEST_SETTLE_MS };
  assertPlanRunnable(plan, runDeps);
  const artifactsDir = join(deps.workDir, "artifacts", job.flowId);
  const opened = await openKernelSides({
    variants,
    build,
    boot: job.boot,
    topologies: [...new Set(cells.map((c) => c.topology))],
    pinning: b.pinning,
    artifactsDir,
    log: deps.log,
    bootEvery: b.bootEvery,
    ...(deps.sandbox ? { sandbox: deps.sandbox } : {}),
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  if (!opened.ok) {
    const words = opened.failures.map((f) => `${f.kernel} kernel: ${f.outcome} (${f.reason})`);
    const tail = opened.failures.map((f) => (f.consoleTail ? `${f.kernel} console:\n${f.consoleTail.split("\n").slice(-15).join("\n")}` : "")).filter(Boolean);
    return done(opened.seriesFault ? "fail" : "error", `${opened.seriesFault ? "the candidate kernel does not boot while the base does" : "the kernels could not be booted as guests (not the series' fault)"}: ${words.join("; ")}`, {
      ...empty,
      problems: [...words, ...tail],
    });
  }
  const sessions = opened.sessions;
  let out: Awaited<ReturnType<typeof runBenchSessions>>;
  // The sessions' notes (pinning off in a 1-vCPU guest) go into the kernels' description once, not into problems.
  const problems: string[] = [...dropped];
  try {
    out = await runBenchSessions(plan, sessions, { log: deps.log, ...runDeps, ...(deps.signal ? { signal: deps.signal } : {}), ...(deps.decide ? { decide: deps.decide } : {}) });
  } finally {
    for (const s of sessions) problems.push(...(await s.close()));
    // An ssh target goes back to its own default kernel; one that does not come back is said.
    const restored = await opened.restore();
    if (restored?.startsWith("WARNING")) problems.push(restored);
  }
  problems.push(...out.problems);
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, c) => a - c);
    return s.length === 0 ? 0 : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const bootsOf = (s: (typeof sessions)[number]): readonly number[] => ("bootsMs" in s ? (s.bootsMs as readonly number[]) : [s.guest.bootMs]);
  const kernels: KernelSidesInfo = {
    mode: b.bootEvery === "side" ? "reboot" : "guests",
    bootEvery: b.bootEvery,
    accel: sessions[0]?.guest.accel ?? null,
    sides: sessions.map((s) => ({
      name: s.name,
      describe: s.describe,
      kernelRelease: s.guest.kernelRelease,
      version: s.guest.version,
      bootMs: round1(median([...bootsOf(s)])),
      boots: bootsOf(s).length,
    })),
    switchMs: {
      pause: round1(median(sessions.flatMap((s) => s.switches.pauses))),
      resume: round1(median(sessions.flatMap((s) => s.switches.resumes))),
      settle: GUEST_SETTLE_MS,
      count: sessions.reduce((n, s) => n + s.switches.resumes.length, 0),
    },
    notes: [...new Set(sessions.flatMap((s) => s.notes))],
  };
  const profile = describeKernelProfile(
    host,
    sessions.map((s) => `${s.name}: ${s.guest.kernelRelease} (${s.guest.accel ? `QEMU ${s.guest.accel}, ${job.boot.qemu.cpus} vCPU, ${job.boot.qemu.memoryMb} MB` : s.guest.where})`).join("; "),
    sessions.map((s) => s.profile),
  );
  const okRuns = out.samples.filter((s) => s.ok).length;
  const failedRuns = out.samples.length - okRuns;
  // Inside a guest with fewer vCPUs than the pinning names, netperf ran unpinned: say so in the design line too.
  const pinning = sessions.some((s) => s.notes.some((n) => n.includes("pinning"))) ? null : b.pinning;
  return done(
    out.aborted ? "error" : combineStatus([problems.length > 0 || failedRuns > 0 ? "warn" : "pass"]),
    `${plural(cells.length, "cell")} x base/candidate kernels${arms.length ? ` + ${plural(arms.length, "arm")} (${arms.map((a) => a.variant).join(", ")})` : ""} (QEMU ${kernels.accel}), ${okRuns} runs${failedRuns ? `, ${failedRuns} failed` : ""}`,
    { variants, arms, samples: out.samples, profile, warnings: [], problems, pinning, commands: [
      "# inside each kernel: boot it as in README \"Kernel A/B\" (QEMU, the runner's root over 9p), then",
      ...reproduceCommands({ ...job.bench, pinning }, cells, variants),
    ], kernels },
  );
}

/** After resuming a paused guest: its timers catch up and netserver wakes before the first run. */
const GUEST_SETTLE_MS = 500;

const round1 = (x: number) => Math.round(x * 10) / 10;
