/**
 * npm run bench:kernel-ab — kernel A/B figures on this machine, all measured in one run:
 *  1. switch cost per side change (QMP stop/cont + settle) against a reboot per side (a boot);
 *  2. kernel A/A: one commit built twice (base and "candidate"), N jobs of TCP_RR 1 B on loopback
 *     and container in each boot mode (bench.bootEvery: job, round — the default — and side),
 *     the modes alternating → cells flagged in each (goal 0), boots and seconds per job;
 *  3. an injected busy-wait per TCP segment (test/data/kernel-ab/regression.mbox with its 500 µs
 *     set to --delay-us, default 50): flagged cells / affected cells, and whether each job's 95% CI
 *     covers a long interleaved reference run;
 *  4. runner seconds per job for the default bpf-next matrix, derived from the boot, switch and
 *     per-run times measured here (and the same for KVM, with the TCG-only parts scaled out).
 * Flags: --aa N (default 10), --rounds R (default 4), --ref-rounds R (default 12), --duration S (default 2),
 * --delay-us U (default 50), --injected N (default 3; 0 with --ref-rounds 0 skips section 3),
 * --modes job,round,side (default all three; e.g. `--modes round` for the default mode alone).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { benchSchema, bootSchema, buildSchema } from "../src/config/schema.ts";
import type { BenchSample, Cell } from "../src/domain/bench.ts";
import type { BootEvery, BuildData } from "../src/domain/results.ts";
import { silentLogger } from "../src/lib/logger.ts";
import { defaultSandbox } from "../src/lib/sandbox.ts";
import { kernelVariants, openKernelSides } from "../src/runner/bench/kernel-sides.ts";
import { type BenchPlan, benchPlanOf } from "../src/domain/bench-plan.ts";
import { runBenchSessions } from "../src/runner/bench/run-bench-sessions.ts";
import { buildKernel } from "../src/runner/build/build-kernel.ts";
import { bootGuest } from "../src/runner/guest/boot-guest.ts";
import { analyzeSamples } from "../src/stats/analyze-samples.ts";

const { values: flags } = parseArgs({
  options: {
    aa: { type: "string", default: "10" },
    rounds: { type: "string", default: "4" },
    "ref-rounds": { type: "string", default: "12" },
    duration: { type: "string", default: "2" },
    "delay-us": { type: "string", default: "50" },
    injected: { type: "string", default: "3" },
    modes: { type: "string", default: "job,round,side" },
  },
});
const AA = Number(flags.aa);
const ROUNDS = Number(flags.rounds);
const REF_ROUNDS = Number(flags["ref-rounds"]);
const DURATION = Number(flags.duration);
const DELAY_US = Number(flags["delay-us"]);
const INJECTED = Number(flags.injected);
const ALL_MODES = ["job", "round", "side"] as const satisfies readonly BootEvery[];
const MODES = flags.modes.split(",").map((m) => m.trim()) as BootEvery[];
if (MODES.length === 0 || MODES.some((m) => !(ALL_MODES as readonly string[]).includes(m))) throw new Error(`--modes: a comma list of ${ALL_MODES.join(", ")}`);
if (!Number.isInteger(DELAY_US) || DELAY_US < 1 || DELAY_US > 20000) throw new Error("--delay-us: an integer from 1 to 20000 (udelay's limit)");
const root = join(import.meta.dirname, "..");
const CACHE = process.env.PATCHBENCH_CACHE ?? "/var/cache/patchbench";
const log = silentLogger();
const say = (s: string) => process.stdout.write(`${s}\n`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const src = execFileSync("bash", [join(root, "scripts", "prepare-kernel-tree.sh")], { encoding: "utf8" }).trim().split("\n").pop()!;
const work = mkdtempSync(join(tmpdir(), "pb-kab-bench-"));
const gitEnv = { ...process.env, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", GIT_AUTHOR_NAME: "Ada Hacker", GIT_AUTHOR_EMAIL: "ada@example.org", GIT_COMMITTER_NAME: "Ada Hacker", GIT_COMMITTER_EMAIL: "ada@example.org" };
const tree = join(work, "tree");
execFileSync("git", ["clone", "-q", "--shared", "--branch", "base", src, tree], { env: gitEnv });
const buildCfg = buildSchema.parse({ baseConfig: "tinyconfig", selftestsConfig: false, extras: ["CONFIG_PRINTK=y"], timeoutSec: 7200 });
const boot = bootSchema.parse({ target: "qemu", timeoutSec: 300, qemu: { kvm: "auto", memoryMb: 512, cpus: 1 } });
const artifacts = join(work, "artifacts");
const sandbox = defaultSandbox([work]);
mkdirSync(artifacts, { recursive: true });
const build = async (label: "base" | "candidate", name: string) => {
  const t0 = Date.now();
  const b = await buildKernel({ treeDir: tree, commit: name, label, config: buildCfg, artifactsDir: join(artifacts, name), ccacheDir: join(CACHE, "ccache"), ccacheWrite: label === "base", sandbox });
  say(`built ${name}: ${secs(Date.now() - t0)}${b.ccache ? " (ccache)" : ""}`);
  return b;
};

try {
  say(`# kernel A/B on ${execFileSync("uname", ["-r"], { encoding: "utf8" }).trim()}, ${execFileSync("nproc", { encoding: "utf8" }).trim()} CPUs, ${new Date().toISOString()}`);
  const baseA = await build("base", "base-a");
  execFileSync("make", ["clean"], { cwd: tree, stdio: "ignore" });
  const baseB = await build("candidate", "base-b");
  // The test series waits 500 µs (clear under TCG's ~130 µs transactions); the sensitivity question
  // is asked at the delay given here, by changing only the added line's constant.
  const mbox = readFileSync(join(root, "test", "data", "kernel-ab", "regression.mbox"), "utf8");
  if (!mbox.includes("+\tudelay(500);\n")) throw new Error("regression.mbox no longer adds udelay(500)");
  writeFileSync(join(work, "regression.mbox"), mbox.replace("+\tudelay(500);\n", `+\tudelay(${DELAY_US});\n`));
  // The sandboxed builds left the tree to the sandbox user; this tree and its patch are the project's own.
  execFileSync("git", ["-c", "safe.directory=*", "am", "-q", "--empty=drop", join(work, "regression.mbox")], { cwd: tree, env: gitEnv });
  const slow = await build("candidate", "busy-wait");

  // 1. Switch cost vs reboot per side.
  const g = await bootGuest({ label: "switch", kernel: baseA.image!, qemu: boot.qemu, timeoutMs: 300_000, artifactsDir: join(artifacts, "switch"), sandbox });
  if (!g.ok) throw new Error(`boot failed: ${g.reason}`);
  const pauses: number[] = [];
  const resumes: number[] = [];
  for (let i = 0; i < 20; i++) {
    pauses.push(await g.guest.pause());
    resumes.push(await g.guest.resume());
  }
  const bootMs = g.guest.bootMs;
  const accel = g.guest.accel;
  const t0 = performance.now();
  for (let i = 0; i < 10; i++) await g.guest.exec(["true"]);
  const execMs = (performance.now() - t0) / 10;
  // How much slower the guest's CPU is than the host's (TCG's cost, which KVM removes): the same
  // CPU-bound command in the guest and on the runner, medians of 3.
  const CPU_WORK = ["sh", "-c", "head -c 33554432 /dev/zero | sha256sum >/dev/null"];
  const timed = async (f: () => Promise<unknown> | unknown) => {
    const t = performance.now();
    await f();
    return performance.now() - t;
  };
  const guestCpu: number[] = [];
  const hostCpu: number[] = [];
  for (let i = 0; i < 3; i++) {
    guestCpu.push(await timed(() => g.guest.exec(CPU_WORK, { timeoutMs: 600_000 })));
    hostCpu.push(await timed(() => execFileSync(CPU_WORK[0]!, CPU_WORK.slice(1))));
  }
  const slowdown = median(guestCpu) / median(hostCpu);
  await g.guest.shutdown();
  const settle = 500;
  const switchMs = median(pauses) + median(resumes) + settle;
  say(`\n## 1. switch cost (QEMU ${accel})`);
  say(`pause/resume: QMP stop ${median(pauses).toFixed(1)} ms + cont ${median(resumes).toFixed(1)} ms (medians of 20) + settle ${settle} ms = ${switchMs.toFixed(0)} ms per side change`);
  say(`reboot per side: boot to agent ${secs(bootMs)} -> pause/resume is ${(bootMs / switchMs).toFixed(1)}x cheaper; one agent round trip ${execMs.toFixed(0)} ms`);
  say(`guest CPU under ${accel}: sha256 of 32 MiB ${median(guestCpu).toFixed(0)} ms in the guest vs ${median(hostCpu).toFixed(0)} ms on the runner (medians of 3) -> ${slowdown.toFixed(1)}x slower`);

  const cells: Cell[] = [
    { test: "TCP_RR", size: 1, topology: "loopback" },
    { test: "TCP_RR", size: 1, topology: "container" },
  ];
  const benchCfg = benchSchema.parse({ tests: ["TCP_RR"], sizes: [1], topologies: ["loopback", "container"], rounds: ROUNDS, maxRounds: ROUNDS, runsPerRound: 2, durationSec: DURATION, warmupRounds: "first", sides: "kernels" });
  const job = async (name: string, candidateImage: string, rounds = ROUNDS, bootEvery: BootEvery = "round") => {
    const t = Date.now();
    const variants = kernelVariants([]);
    const plan: BenchPlan = benchPlanOf({ ...benchCfg, rounds, maxRounds: rounds, variants, bootEvery }, { adaptive: false });
    const data: BuildData = { config: { base: "tinyconfig", fragments: [], extras: [] }, base: { ...baseA, image: baseA.image }, candidate: { ...baseA, image: candidateImage }, newWarnings: [], boots: [], probeChanges: [] };
    const opened = await openKernelSides({ variants, build: data, boot, topologies: ["loopback", "container"], pinning: null, artifactsDir: join(artifacts, name), log, sandbox, bootEvery });
    if (!opened.ok) throw new Error(`${name}: ${opened.failures.map((f) => f.reason).join("; ")}`);
    let samples: BenchSample[] = [];
    try {
      samples = (await runBenchSessions(plan, opened.sessions, { log, settleMs: settle })).samples;
    } finally {
      for (const s of opened.sessions) await s.close();
    }
    const boots = opened.sessions.reduce((n, s) => n + ("bootsMs" in s ? (s.bootsMs as readonly number[]).length : 1), 0);
    const a = analyzeSamples(samples, ["base", "candidate"]);
    return { cells: a.cells, seconds: (Date.now() - t) / 1000, runs: samples.length, boots };
  };
  const fmt = (c: { key: string; analysis: { ratio: number; ci95: [number, number] | null; verdict: string } }) =>
    `${c.key} ${c.analysis.ratio.toFixed(3)}x [${c.analysis.ci95?.[0].toFixed(3)}, ${c.analysis.ci95?.[1].toFixed(3)}] ${c.analysis.verdict}`;

  // 2. Kernel A/A, the boot modes alternating so they share the machine's drift.
  say(`\n## 2. kernel A/A: one commit built twice, ${AA} jobs per boot mode x ${cells.length} cells, ${ROUNDS} rounds x 2 runs x ${DURATION} s`);
  const words: Record<BootEvery, string> = { job: "each kernel booted once per job", round: "a fresh boot per round", side: "one kernel up at a time, a boot per change of side" };
  const byMode = Object.fromEntries(ALL_MODES.map((m) => [m, { flagged: 0, verdicts: [] as string[], seconds: [] as number[], boots: [] as number[] }])) as Record<BootEvery, { flagged: number; verdicts: string[]; seconds: number[]; boots: number[] }>;
  let total = 0;
  for (let i = 0; i < AA; i++) {
    for (const mode of MODES) {
      const r = await job(`aa-${mode}-${i}`, baseB.image!, ROUNDS, mode);
      const m = byMode[mode];
      m.seconds.push(r.seconds);
      m.boots.push(r.boots);
      for (const c of r.cells) {
        m.verdicts.push(c.analysis.verdict);
        if (c.analysis.verdict === "regression" || c.analysis.verdict === "improvement") m.flagged++;
      }
      say(`job ${i + 1}, boot per ${mode}: ${r.cells.map(fmt).join("; ")} (${r.boots} boots, ${r.seconds.toFixed(0)} s, load average ${loadavg()[0]!.toFixed(1)})`);
    }
    total += cells.length;
  }
  const tally = (v: string[]) => [...new Set(v)].sort().map((w) => `${v.filter((x) => x === w).length} ${w}`).join(", ");
  for (const mode of MODES) {
    const m = byMode[mode];
    say(`A/A, ${words[mode]}: ${m.flagged} of ${total} cells flagged (${tally(m.verdicts)}); median job ${median(m.seconds).toFixed(0)} s, ${median(m.boots)} boots`);
  }
  // Seconds per job with the boots taken out, from the first mode measured.
  const first = byMode[MODES[0]!];
  const jobSeconds = first.seconds;
  const runSeconds = first.seconds.map((s, i) => s - ((first.boots[i] ?? 2) * bootMs) / 1000);

  // 3. The injected regression and a long reference run (fresh boots per round, the default).
  if (INJECTED > 0 && REF_ROUNDS > 0) {
    say(`\n## 3. injected ${DELAY_US} us busy-wait per TCP segment`);
    const ref = await job("reference", slow.image!, REF_ROUNDS);
    say(`reference (${REF_ROUNDS} rounds): ${ref.cells.map(fmt).join("; ")}`);
    let hit = 0;
    let covered = 0;
    const INJ = INJECTED;
    for (let i = 0; i < INJ; i++) {
      const r = await job(`injected-${i}`, slow.image!);
      for (const c of r.cells) {
        if (c.analysis.verdict === "regression") hit++;
        const refRatio = ref.cells.find((x) => x.key === c.key)?.analysis.ratio;
        if (refRatio !== undefined && c.analysis.ci95 && c.analysis.ci95[0] <= refRatio && refRatio <= c.analysis.ci95[1]) covered++;
      }
      say(`job ${i + 1}: ${r.cells.map(fmt).join("; ")}`);
    }
    say(`injected: ${hit} of ${INJ * cells.length} affected cells flagged regression; ${covered} of ${INJ * cells.length} 95% CIs cover the reference ratio`);
  }

  // 4. Runner seconds per job, derived.
  const perRunSec = median(runSeconds) / (cells.length * 2 * (ROUNDS * 2 + 1));
  const overhead = perRunSec - DURATION;
  const defaultCfg = benchSchema.parse({});
  const defCells = defaultCfg.sizes.length * defaultCfg.topologies.length;
  const defRuns = defCells * 2 * (defaultCfg.rounds * (defaultCfg.runsPerRound + 1));
  const switches = defCells * 2 * defaultCfg.rounds;
  // A fresh boot per side and round (bench.bootEvery: round).
  const tcg = (2 * defaultCfg.rounds * bootMs) / 1000 + defRuns * (defaultCfg.durationSec + overhead) + (switches * switchMs) / 1000;
  say(`\n## 4. runner time per job (default bpf-next matrix: ${defCells} cells, ${defaultCfg.rounds} rounds x ${defaultCfg.runsPerRound} runs x ${defaultCfg.durationSec} s + warm-ups)`);
  say(`measured per run: ${perRunSec.toFixed(2)} s for ${DURATION} s of netperf -> ${overhead.toFixed(2)} s overhead (agent, ip netns exec, counters under ${accel})`);
  say(`bench stage on this VM (${accel}, warm build cache not counted): ~${Math.round(tcg / 60)} min = ${2 * defaultCfg.rounds} boots ${secs(2 * defaultCfg.rounds * bootMs)} + ${defRuns} runs + ${switches} switches`);
  say(`median A/A job here (${words[MODES[0]!]}): ${median(jobSeconds).toFixed(0)} s`);
  // With KVM the guest runs at the host's speed: the boot and the per-run overhead (guest-side work)
  // shrink by the slowdown measured above; netperf's seconds and the settle stay.
  if (accel === "tcg") {
    const kvmBootMs = bootMs / slowdown;
    const kvm = (2 * defaultCfg.rounds * kvmBootMs) / 1000 + defRuns * (defaultCfg.durationSec + overhead / slowdown) + (switches * switchMs) / 1000;
    say(`derived for KVM (guest CPU ${slowdown.toFixed(1)}x faster, as measured above): a boot ~${secs(kvmBootMs)}, ~${(overhead / slowdown).toFixed(2)} s overhead per run -> bench stage ~${Math.round(kvm / 60)} min`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
