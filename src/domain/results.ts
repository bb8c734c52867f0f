import type { BenchSample, Cell, Variant } from "./bench.ts";
import type { PackedText } from "./packed-text.ts";
import type { SeriesBpfObject } from "./series-bpf-program.ts";
import type { Status } from "./status.ts";

export const STAGES = ["apply", "build", "selftests", "bench"] as const;
export type Stage = (typeof STAGES)[number];

/** What one runner stage returns (through the queue) to the report job. */
export interface StageResult<T = unknown> {
  stage: Stage;
  status: Status;
  /** One line for humans. */
  summary: string;
  startedAt: string;
  endedAt: string;
  runner: string;
  data: T;
}

export type BaseRule = "base-commit trailer" | "tree tip" | "given" | "preimage blobs";

export interface ApplyData {
  tree: string;
  /** Where the tree's mirror fetches from (URL without credentials, or a local path). */
  origin?: string;
  branch: string;
  baseCommit: string | null;
  baseRule: BaseRule | null;
  /** Why the earlier rules did not apply. */
  baseNotes: string[];
  head: string | null;
  applied: number;
  total: number;
  failure: {
    patch: number;
    subject: string;
    files: string[];
    gitMessage: string;
    /** "file:line" of each hunk git could not place (from `git apply --check`). */
    hunks?: string[];
  } | null;
  rejected: { patch: number; reason: string }[];
  /** Patches skipped because the tree already has them (`git apply --check -R` succeeded). */
  alreadyApplied?: { patch: number; subject: string }[];
  /** Where the tip of the branch was read, when the tree-tip rule chose the base. */
  tipSource?: "ingest" | "runner";
  /** Check plug-ins (checkpatch, signed-off-by, fixes-tag) run on the series. */
  checks?: CheckResult[];
}

export type FindingSeverity = "error" | "warning" | "check" | "note";

/** One finding of a check, pinned to a patch and (when known) a file and line. */
export interface CheckFinding {
  patch: number;
  severity: FindingSeverity;
  /** The tool's own code, e.g. checkpatch's QUOTED_STRING_SPLIT. */
  code: string | null;
  file: string | null;
  line: number | null;
  message: string;
}

export interface CheckResult {
  id: string;
  status: Status;
  summary: string;
  findings: CheckFinding[];
  durationMs: number;
}

/** A compiler diagnostic in a build log. */
export interface BuildWarning {
  file: string;
  line: number;
  message: string;
  /** The -W flag, when gcc printed one. */
  flag: string | null;
}

export interface KernelBuild {
  commit: string;
  ok: boolean;
  durationMs: number;
  warnings: BuildWarning[];
  /** The last lines of the build log (size-limited). */
  logTail: string;
  /** Path of the full (size-limited) log on the runner. */
  logPath: string;
  /** Path of the built kernel image kept for the boot step, when built. */
  image: string | null;
  ccache: boolean;
  /** Set when the image was not built here but reused: a kept kernel of the same commit and config. */
  reused?: { flowId: string; builtAt: string; buildMs: number };
  /** The exact .config the image was built from (for the reproduction bundle). */
  dotConfig?: PackedText;
}

export type BootOutcome = "ok" | "panic" | "oops" | "timeout" | "no-boot" | "error";

/** One boot of one kernel on a boot target, with what the in-guest probe printed. */
export interface BootRun {
  target: "host" | "qemu" | "ssh";
  kernel: "base" | "candidate" | "running";
  outcome: BootOutcome;
  reason: string;
  durationMs: number;
  /** Last lines of the serial console / remote log. */
  consoleTail: string;
  probes: SuiteTest[];
}

export interface BuildData {
  config: { base: string; fragments: string[]; extras: string[] };
  base: KernelBuild | null;
  candidate: KernelBuild | null;
  /** Warnings in the candidate build that the base build does not have. */
  newWarnings: BuildWarning[];
  boots: BootRun[];
  /** Probe results that differ between base and candidate kernels. */
  probeChanges: { name: string; base: Status | null; candidate: Status | null; note: string }[];
  /** The BPF programs the flow's arms take from the series, compiled from the candidate tree. */
  bpfObjects?: SeriesBpfObject[];
  /** test_progs built from each side's tree for the selftests stage's guests. */
  testProgs?: TestProgsBuilds;
}

/** One test_progs run a flow asks for: `-t <filter>`, and where the test came from. */
export interface TestProgsSelection {
  /** test or test/subtest, as `test_progs -t` takes it. */
  filter: string;
  test: string;
  subtest?: string;
  from: "config" | "suite" | "series";
}

/** One side's test_progs, built with only the flow's tests. */
export interface TestProgsBuild {
  label: "base" | "candidate";
  /** Folder holding test_progs and its BPF objects; null when nothing was built. */
  dir: string | null;
  /** The wanted tests this side's tree defines. */
  present: string[];
  /** Why there is no build (the tree has no BPF selftests, it does not compile, ...). */
  problem: string | null;
  seconds: number;
  /** Copied from a kept build of the same commit, tests, BTF and compiler (no build). */
  reused?: { flowId: string; builtAt: string; seconds: number };
}

export interface TestProgsBuilds {
  selections: TestProgsSelection[];
  /** Series tests over testProgs.maxFromSeries. */
  notRun: string[];
  /** Where vmlinux.h came from, for the report. */
  btfFrom: string;
  base: TestProgsBuild | null;
  candidate: TestProgsBuild | null;
}

export interface SuiteTest {
  suite: string;
  name: string;
  status: Status;
  detail: string;
  durationMs: number;
}

export interface SelftestsData {
  tests: SuiteTest[];
  /** Which kernel the suites ran on: the runner's own (host) or a booted one. */
  kernel?: string;
}

export interface BenchData {
  cells: Cell[];
  variants: Variant[];
  design: string;
  rounds: number;
  runsPerRound: number;
  durationSec: number;
  /** One discarded warm-up run per cell and round. */
  warmup?: boolean;
  /** Warm-up in every round, or only in the first. */
  warmupRounds?: "all" | "first";
  pinning: { local: number; remote: number } | null;
  samples: BenchSample[];
  profile: Record<string, string>;
  warnings: string[];
  problems: string[];
  commands: string[];
  /** Set when the sides were kernels: how they ran and what switching between them cost. */
  kernels?: KernelSidesInfo;
  /** Arms: variants after base and candidate, on the candidate kernel with extra settings. */
  arms?: ArmInfo[];
}

/** One arm of a kernel A/B: its variant's name and how the series' claims name it, if configured. */
export interface ArmInfo {
  variant: string;
  claimedAs: { from: string; to: string } | null;
}

/**
 * When kernel sides boot: afresh for each round, once per job (switching by pausing only),
 * or at every change of side with one kernel up at a time (what a target holding one kernel does).
 */
export type BootEvery = "round" | "job" | "side";

/** How a kernel A/B ran: each side's kernel as booted, and the measured cost of switching sides. */
export interface KernelSidesInfo {
  /** "guests": the kernels up together under QEMU, the idle ones paused; "reboot": one kernel up at a time, a boot at every change of side. */
  mode: "guests" | "reboot";
  /** When the kernels booted. Absent: once per job (results from before the choice existed). */
  bootEvery?: BootEvery;
  accel: "kvm" | "tcg" | null;
  /** `bootMs`: the median boot of the side; `boots`: how many times it was booted (absent: once). */
  sides: { name: string; describe: string; kernelRelease: string; version: string; bootMs: number; boots?: number }[];
  /** Medians over the job, milliseconds: QMP stop, QMP cont, and the settle after resuming. */
  switchMs: { pause: number; resume: number; settle: number; count: number };
  notes: string[];
}
