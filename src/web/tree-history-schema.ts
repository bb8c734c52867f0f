import { z } from "zod";
import type { TreeHistory } from "../history/build-tree-history.ts";

const point = z.object({
  flowId: z.string(),
  head: z.string(),
  base: z.string(),
  at: z.string(),
  value: z.number(),
  step: z.object({ ratio: z.number(), ciLow: z.number(), ciHigh: z.number(), cv: z.number() }).nullable(),
  verdict: z.string(),
});

const change = z.object({
  index: z.number().int(),
  commit: z.string(),
  previousCommit: z.string(),
  meanBefore: z.number(),
  meanAfter: z.number(),
  relativeChange: z.number(),
  pValue: z.number(),
  qhat: z.number(),
  nBefore: z.number().int(),
  nAfter: z.number().int(),
  reason: z.string(),
  /** The A/B steps across it (src/stats/candidate-changes.ts). */
  chain: z.unknown(),
  candidate: z.boolean(),
  verdict: z.string(),
});

/** The tree history page's data, as the API answers it (`/api/trees/<tree>`). */
export const treeHistoryViewSchema = z.object({
  tree: z.string(),
  profiles: z.array(z.object({ key: z.string(), words: z.string(), cells: z.array(z.object({ cell: z.string(), points: z.array(point), changes: z.array(change) })) })),
  skipped: z.array(z.object({ flowId: z.string(), head: z.string(), why: z.string() })),
  pending: z.array(z.object({ flowId: z.string(), head: z.string() })),
});

// The builder's type and the API's schema stay one shape.
const _fits = (h: TreeHistory): z.input<typeof treeHistoryViewSchema> => h;

/** The trees page: each configured tree and whether its tip is measured on a schedule. */
export const treesViewSchema = z.object({ trees: z.array(z.object({ name: z.string(), history: z.boolean() })) });
export type TreesView = z.infer<typeof treesViewSchema>;
