import { z } from "zod";
import { STATUSES } from "../domain/status.ts";

/**
 * The JSON API's contract: each page's data, as served under /api and rendered as HTML.
 * Numbers a stored analysis could not estimate are null (JSON has no NaN).
 */
const status = z.enum(STATUSES);
const num = z.number().nullable();

export const flowRefSchema = z.object({
  id: z.string(),
  /** queued, or the report's status once finished. */
  status: z.string(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});

export const seriesListViewSchema = z.object({
  total: z.number().int(),
  offset: z.number().int(),
  limit: z.number().int(),
  filter: z.object({
    tree: z.string().optional(),
    list: z.string().optional(),
    state: z.string().optional(),
    verdict: z.string().optional(),
    author: z.string().optional(),
    "has-regression": z.string().optional(),
    q: z.string().optional(),
  }),
  items: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      version: z.number().int(),
      tree: z.string().nullable(),
      author: z.string(),
      /** The author's address, lowercased (the `author` filter's value). */
      authorEmail: z.string(),
      messageId: z.string().nullable(),
      createdAt: z.string(),
      latestFlow: flowRefSchema.nullable(),
      flows: z.number().int(),
      /** Bench cells of the latest run per verdict, and the same in words ("2 regressions, 1 no change"). */
      verdicts: z.record(z.string(), z.number().int()),
      verdictWords: z.string(),
    }),
  ),
});

const mailRefSchema = z.object({ subject: z.string(), messageId: z.string(), lore: z.string() });

export const benchCellViewSchema = z.object({
  key: z.string(),
  verdict: z.string(),
  ratio: num,
  ci95: z.tuple([num, num]).nullable(),
  reason: z.string(),
  meanA: num,
  meanB: num,
  nA: num,
  nB: num,
});

const stageCellSchema = z.object({ status, summary: z.string() });

export const seriesViewSchema = z.object({
  id: z.string(),
  title: z.string(),
  version: z.number().int(),
  tree: z.string().nullable(),
  author: z.string(),
  date: z.string().nullable(),
  cover: mailRefSchema.nullable(),
  patches: z.array(mailRefSchema.extend({ index: z.number().int(), author: z.string() })),
  versions: z.array(
    z.object({
      seriesId: z.string(),
      version: z.number().int(),
      flow: flowRefSchema.nullable(),
      apply: stageCellSchema.nullable(),
      checks: stageCellSchema.nullable(),
      build: stageCellSchema.nullable(),
      /** The build stage's new warnings (candidate against base) and its boots, each a row of its own. */
      warnings: stageCellSchema.nullable(),
      boot: stageCellSchema.nullable(),
      selftests: stageCellSchema.nullable(),
      bench: stageCellSchema.nullable(),
      cells: z.array(benchCellViewSchema),
    }),
  ),
});

export const runViewSchema = z.object({
  flow: flowRefSchema.extend({ seriesId: z.string(), tree: z.string(), base: z.string().nullable() }),
  series: z.object({ title: z.string(), version: z.number().int(), author: z.string() }).nullable(),
  stages: z.array(
    z.object({
      stage: z.string(),
      status,
      summary: z.string(),
      runner: z.string(),
      startedAt: z.string(),
      endedAt: z.string(),
      durationSec: num,
    }),
  ),
  errors: z.array(z.object({ stage: z.string(), reason: z.string() })),
  cells: z.array(benchCellViewSchema),
  samples: z.object({ count: z.number().int(), json: z.string(), csv: z.string() }),
  /**
   * The flow's logs, each served as text at `url`: whole (`whole`) when this host keeps the runner's
   * artifacts of the flow, else the last lines the runner sent back, and `runner` keeps the whole file.
   */
  logs: z.array(z.object({ name: z.string(), title: z.string(), bytes: z.number().int(), url: z.string(), whole: z.boolean(), runner: z.string().nullable() })),
  /** The bench guests' boots whose consoles are kept only on the bench stage's runner (none of them on this host). */
  benchConsoles: z.object({ runner: z.string(), boots: z.number().int() }).nullable(),
  /** The bench machine as the bench stage described it, what was not tuned, and one run of each cell as commands. */
  machine: z.object({
    profile: z.record(z.string(), z.string()),
    warnings: z.array(z.string()),
    problems: z.array(z.string()),
    commands: z.array(z.string()),
  }).nullable(),
  /** Every run in run order (the first `MAX_RUNS_SHOWN`): what drift, slow modes and repairs look like. */
  runs: z.array(z.object({ cell: z.string(), variant: z.string(), value: num, superseded: z.boolean() })),
});

export type FlowRef = z.infer<typeof flowRefSchema>;
export type SeriesListView = z.infer<typeof seriesListViewSchema>;
export type BenchCellView = z.infer<typeof benchCellViewSchema>;
export type SeriesView = z.infer<typeof seriesViewSchema>;
export type RunView = z.infer<typeof runViewSchema>;

/** What Redis says now: jobs per queue and the runner agents; unavailable when Redis did not answer. */
export const queueStateSchema = z.object({
  available: z.boolean(),
  reason: z.string().nullable(),
  queues: z.array(z.object({ name: z.string(), paused: z.boolean(), counts: z.record(z.string(), z.number().int()) })),
  runners: z.array(
    z.object({
      id: z.string(),
      pool: z.string(),
      host: z.string(),
      state: z.string(),
      seenSecAgo: z.number(),
      job: z.object({ flowId: z.string(), stage: z.string() }).nullable(),
      jobSec: z.number().nullable(),
    }),
  ),
  unreadableRunners: z.number().int(),
  /** Stage jobs not finished in each pool's queue, oldest first (on the queue page: those of the flows it lists). */
  stageJobs: z.array(z.object({ pool: z.string(), flowId: z.string(), stage: z.string(), state: z.string() })),
  /** Stage jobs that failed after their retries (infrastructure), newest first, at most MAX_FAILURES per pool. */
  failedJobs: z.array(
    z.object({ pool: z.string(), flowId: z.string(), stage: z.string(), reason: z.string(), failedAt: z.string().nullable(), attempts: z.number().int() }),
  ),
});

export const queueViewSchema = z.object({
  state: queueStateSchema,
  /** When this view was made: the estimated starts count from it. */
  now: z.string(),
  /**
   * Flows not finished, oldest first (the order they were enqueued in), each with the pool its stage
   * jobs wait in (null: none in Redis: only the report is left, or Redis lost them), its place among
   * the pool's waiting flows, the runner time it has left and when a runner is estimated to take it.
   */
  unfinished: z.array(
    z.object({
      position: z.number().int(),
      id: z.string(),
      status: z.string(),
      createdAt: z.string(),
      pool: z.string().nullable(),
      running: z.boolean(),
      poolPosition: z.number().int().nullable(),
      remainingSec: num,
      startsAt: z.string().nullable(),
    }),
  ),
  /** Unfinished flows in all (up to MAX_ESTIMATED_FLOWS); `unfinished` may list fewer. */
  unfinishedTotal: z.number().int(),
  /** Per pool: runners idle and busy, flows running and waiting. */
  pools: z.array(z.object({ pool: z.string(), idle: z.number().int(), busy: z.number().int(), running: z.number().int(), waiting: z.number().int() })),
  /** How the starts were estimated, in words (the page shows them beside the table). */
  estimateWords: z.array(z.string()),
  /** Flows that ended in error or whose stage jobs failed, newest first. */
  failures: z.array(z.object({ flowId: z.string(), stage: z.string().nullable(), reason: z.string(), at: z.string().nullable() })),
});

export type QueueState = z.infer<typeof queueStateSchema>;
export type QueueView = z.infer<typeof queueViewSchema>;

/** Quarantined mail, newest first; `kept`: its bytes were kept, so it can be released. */
export const quarantineViewSchema = z.object({
  limit: z.number().int(),
  items: z.array(
    z.object({ id: z.number().int(), messageId: z.string().nullable(), reason: z.string(), source: z.string(), createdAt: z.string(), kept: z.boolean() }),
  ),
});

export type QuarantineView = z.infer<typeof quarantineViewSchema>;
