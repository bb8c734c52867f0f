import { z } from "zod";
import { packedTextSchema } from "./packed-text.ts";
import { type BenchSample, BENCH_TESTS, type Cell, SOCKOPTS, TOPOLOGIES, type Variant } from "./bench.ts";
import type {
  ApplyData,
  BenchData,
  BootRun,
  BuildData,
  BuildWarning,
  CheckResult,
  KernelBuild,
  SelftestsData,
  StageResult,
  SuiteTest,
} from "./results.ts";
import { STAGES } from "./results.ts";
import { STATUSES } from "./status.ts";

/**
 * Schemas of what a stage returns through the queue (and what the store
 * keeps of it). Each is checked against its domain type at compile time
 * (`z.ZodType<T>`); objects are loose so a field a newer runner adds is
 * kept, not dropped. A result that fails its schema becomes an `error`
 * result (see `collectChildResults`), never a silently missing stage.
 */

const status = z.enum(STATUSES);
const opt = <T extends z.ZodType>(t: T) => t.exactOptional();

const cell: z.ZodType<Cell> = z.looseObject({ test: z.enum(BENCH_TESTS), size: z.number().int(), topology: z.enum(TOPOLOGIES) });

const variant: z.ZodType<Variant> = z.looseObject({
  name: z.string(),
  settings: z.array(
    z.discriminatedUnion("kind", [
      z.looseObject({ kind: z.literal("sysctl"), key: z.string(), value: z.string() }),
      z.looseObject({ kind: z.literal("kernel"), ref: z.enum(["base", "candidate"]) }),
      z.looseObject({ kind: z.literal("sockopt"), option: z.enum(SOCKOPTS), value: opt(z.string()) }),
      z.looseObject({ kind: z.literal("bpf-cgroup"), object: z.string(), program: opt(z.string()) }),
      z.looseObject({ kind: z.literal("tc-bpf"), object: z.string(), section: z.string(), side: z.enum(["client", "server"]) }),
    ]),
  ),
});

const benchSample: z.ZodType<BenchSample> = z.looseObject({
  cell,
  variant: z.string(),
  round: z.number().int(),
  run: z.number().int(),
  slot: z.number().int(),
  startedAt: z.string(),
  endedAt: z.string(),
  values: z.record(z.string(), z.string()),
  // NaN (no THROUGHPUT) travels as null in JSON.
  throughput: z.union([z.number(), z.nan(), z.null()]).transform((v) => v ?? Number.NaN),
  ok: z.boolean(),
  problem: opt(z.string()),
  superseded: opt(z.string()),
});

const checkResult: z.ZodType<CheckResult> = z.looseObject({
  id: z.string(),
  status,
  summary: z.string(),
  findings: z.array(
    z.looseObject({
      patch: z.number().int(),
      severity: z.enum(["error", "warning", "check", "note"]),
      code: z.string().nullable(),
      file: z.string().nullable(),
      line: z.number().int().nullable(),
      message: z.string(),
    }),
  ),
  durationMs: z.number(),
});

export const applyDataSchema: z.ZodType<ApplyData> = z.looseObject({
  tree: z.string(),
  origin: opt(z.string()),
  branch: z.string(),
  baseCommit: z.string().nullable(),
  baseRule: z.enum(["base-commit trailer", "tree tip", "given", "preimage blobs"]).nullable(),
  baseNotes: z.array(z.string()),
  head: z.string().nullable(),
  applied: z.number().int(),
  total: z.number().int(),
  failure: z
    .looseObject({ patch: z.number().int(), subject: z.string(), files: z.array(z.string()), gitMessage: z.string(), hunks: opt(z.array(z.string())) })
    .nullable(),
  rejected: z.array(z.looseObject({ patch: z.number().int(), reason: z.string() })),
  alreadyApplied: opt(z.array(z.looseObject({ patch: z.number().int(), subject: z.string() }))),
  tipSource: opt(z.enum(["ingest", "runner"])),
  checks: opt(z.array(checkResult)),
});

const buildWarning: z.ZodType<BuildWarning> = z.looseObject({ file: z.string(), line: z.number().int(), message: z.string(), flag: z.string().nullable() });

const suiteTest: z.ZodType<SuiteTest> = z.looseObject({ suite: z.string(), name: z.string(), status, detail: z.string(), durationMs: z.number() });

const kernelBuild: z.ZodType<KernelBuild> = z.looseObject({
  commit: z.string(),
  ok: z.boolean(),
  durationMs: z.number(),
  warnings: z.array(buildWarning),
  logTail: z.string(),
  logPath: z.string(),
  image: z.string().nullable(),
  ccache: z.boolean(),
  reused: opt(z.looseObject({ flowId: z.string(), builtAt: z.string(), buildMs: z.number() })),
  dotConfig: opt(packedTextSchema),
});

const bootRun: z.ZodType<BootRun> = z.looseObject({
  target: z.enum(["host", "qemu", "ssh"]),
  kernel: z.enum(["base", "candidate", "running"]),
  outcome: z.enum(["ok", "panic", "oops", "timeout", "no-boot", "error"]),
  reason: z.string(),
  durationMs: z.number(),
  consoleTail: z.string(),
  probes: z.array(suiteTest),
});

export const buildDataSchema: z.ZodType<BuildData> = z.looseObject({
  config: z.looseObject({ base: z.string(), fragments: z.array(z.string()), extras: z.array(z.string()) }),
  base: kernelBuild.nullable(),
  candidate: kernelBuild.nullable(),
  newWarnings: z.array(buildWarning),
  boots: z.array(bootRun),
  probeChanges: z.array(z.looseObject({ name: z.string(), base: status.nullable(), candidate: status.nullable(), note: z.string() })),
  bpfObjects: opt(
    z.array(z.looseObject({ name: z.string(), source: z.string(), object: z.string().nullable(), sha256: z.string().nullable(), problem: z.string().nullable() })),
  ),
});

export const selftestsDataSchema: z.ZodType<SelftestsData> = z.looseObject({ tests: z.array(suiteTest), kernel: opt(z.string()) });

export const benchDataSchema: z.ZodType<BenchData> = z.looseObject({
  cells: z.array(cell),
  variants: z.array(variant),
  design: z.string(),
  rounds: z.number().int(),
  runsPerRound: z.number().int(),
  durationSec: z.number(),
  warmup: opt(z.boolean()),
  warmupRounds: opt(z.enum(["all", "first"])),
  pinning: z.looseObject({ local: z.number().int(), remote: z.number().int() }).nullable(),
  samples: z.array(benchSample),
  profile: z.record(z.string(), z.string()),
  warnings: z.array(z.string()),
  problems: z.array(z.string()),
  commands: z.array(z.string()),
  kernels: opt(
    z.looseObject({
      mode: z.enum(["guests", "reboot"]),
      bootEvery: opt(z.enum(["round", "job", "side"])),
      accel: z.enum(["kvm", "tcg"]).nullable(),
      sides: z.array(z.looseObject({ name: z.string(), describe: z.string(), kernelRelease: z.string(), version: z.string(), bootMs: z.number(), boots: opt(z.number().int()) })),
      switchMs: z.looseObject({ pause: z.number(), resume: z.number(), settle: z.number(), count: z.number() }),
      notes: z.array(z.string()),
    }),
  ),
  arms: opt(z.array(z.looseObject({ variant: z.string(), claimedAs: z.looseObject({ from: z.string(), to: z.string() }).nullable() }))),
});

const common = { status, summary: z.string(), startedAt: z.string(), endedAt: z.string(), runner: z.string() };

/** One stage's result, its data checked by the stage's schema (null when the stage did not run: skipped, refused, error). */
export const stageResultSchema = z.discriminatedUnion("stage", [
  z.object({ stage: z.literal("apply"), ...common, data: applyDataSchema.nullable() }),
  z.object({ stage: z.literal("build"), ...common, data: buildDataSchema.nullable() }),
  z.object({ stage: z.literal("selftests"), ...common, data: selftestsDataSchema.nullable() }),
  z.object({ stage: z.literal("bench"), ...common, data: benchDataSchema.nullable() }),
]);

/** A stage result whose data has its stage's type: narrow on `stage`. */
export type TypedStageResult = z.infer<typeof stageResultSchema>;

// The union covers every stage and is a StageResult.
const _everyStage: readonly TypedStageResult["stage"][] = STAGES;
const _isStageResult = (r: TypedStageResult): StageResult => r;
void _everyStage;
void _isStageResult;

/** Pure: a schema failure as one line (the first few issues, with their paths). */
export function describeSchemaError(error: z.ZodError): string {
  const issues = error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
  return issues.join("; ") + (error.issues.length > 3 ? `; +${error.issues.length - 3} more` : "");
}
