/**
 * The one status vocabulary of patchbench. `error` means infrastructure
 * (never the author's fault); `fail` means the series caused it.
 */
export const STATUSES = ["pass", "warn", "fail", "pending", "skip", "error"] as const;
export type Status = (typeof STATUSES)[number];

/** Severity order used to combine statuses: the worst wins. */
const RANK: Record<Status, number> = { skip: 0, pass: 1, warn: 2, pending: 3, error: 4, fail: 5 };

/** Combine child statuses into one (empty → skip). */
export function combineStatus(statuses: readonly Status[]): Status {
  let worst: Status = "skip";
  for (const s of statuses) if (RANK[s] > RANK[worst]) worst = s;
  return worst;
}
