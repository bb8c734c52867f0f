import { z } from "zod";
import { benchSchema, bootSchema, buildSchema, kselftestsSchema, testProgsSchema } from "../config/schema.ts";
import { STAGES } from "../domain/results.ts";

/**
 * Schemas of job.data: parsed once at the job boundary, trusted inside.
 * Stage jobs carry everything a remote runner needs (it shares only Redis).
 */
export const stageJobSchema = z.object({
  flowId: z.string(),
  seriesId: z.string(),
  stage: z.enum(STAGES),
  tree: z.object({
    name: z.string(),
    url: z.string(),
    path: z.string().nullable(),
    branch: z.string(),
    allowBinary: z.boolean(),
    allowSymlinks: z.boolean(),
  }),
  baseCommit: z.string().nullable(),
  /** Raw patch mails (cover excluded), in index order, base64. */
  patches: z.array(z.object({ index: z.number().int(), subject: z.string(), rawBase64: z.string() })),
  suites: z.array(z.string()),
  kselftests: kselftestsSchema.default(kselftestsSchema.parse({})),
  /** test_progs inside the built kernels; null when the flow does not both build and run selftests. */
  testProgs: testProgsSchema.nullable().default(null),
  bench: benchSchema,
  /** The branch tip the orchestrator saw when it planned the flow (null: it has no mirror). */
  treeTip: z.string().nullable().default(null),
  /** Never posted (synthetic Message-IDs): no tip "at posting time" exists, so the base is found from the preimage blobs. */
  unsent: z.boolean().default(false),
  checks: z.array(z.string()).default(["checkpatch", "signed-off-by", "fixes-tag"]),
  build: buildSchema.default(buildSchema.parse({})),
  boot: bootSchema.default(bootSchema.parse({})),
  /** Set when the series is over an ingest cap: the stage only reports this line (patches are left out). */
  refused: z.string().nullable().default(null),
  /** A tree tip measured against the previous measured tip: no patches; `head` is the candidate, `base` the A side. */
  tip: z.object({ base: z.string().regex(/^[0-9a-f]{40}$/), head: z.string().regex(/^[0-9a-f]{40}$/) }).nullable().default(null),
});
export type StageJob = z.infer<typeof stageJobSchema>;

export const reportJobSchema = z.object({
  flowId: z.string(),
  seriesId: z.string(),
  tree: z.string(),
});
export type ReportJob = z.infer<typeof reportJobSchema>;

