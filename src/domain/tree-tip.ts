import type { Series } from "./series.ts";

/**
 * A tree's branch tip measured against the tip measured before it: one kernel A/B with the
 * earlier tip as base and the new one as candidate, so a tree's history is a chain of ratios
 * each measured in one interleaved job (not absolute numbers from different days).
 */
export interface TreeTip {
  tree: string;
  /** The previously measured tip (the A side). */
  base: string;
  /** The tip now (the B side). */
  head: string;
  /** The head commit's subject line, for people. */
  subject: string;
  /** When the tip was read (ISO). */
  seenAt: string;
}

/** Pure: a tip's stand-in series, so a tip runs as a flow like any series; it has no patches and is never mailed. */
export function tipSeries(t: TreeTip): Series {
  return {
    id: `tip-${t.tree}-${t.head.slice(0, 12)}-${t.base.slice(0, 12)}`,
    source: "tree",
    title: `${t.tree} at ${t.head.slice(0, 12)}: ${t.subject}`,
    tree: t.tree,
    version: 1,
    rfc: false,
    resend: false,
    total: 0,
    kind: "tip",
    cover: null,
    patches: [],
    missing: [],
    complete: true,
    baseCommit: t.base,
    changeId: null,
    trailers: [],
    previousVersion: null,
    author: `${t.tree} tree`,
    date: t.seenAt,
  };
}
