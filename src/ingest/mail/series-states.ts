import type { BuiltSeries } from "./build-series.ts";

/** complete; waiting = patches missing but the deadline has not passed; incomplete = final. */
export type SeriesState = "complete" | "waiting" | "incomplete";

/**
 * Each series' state, and for waiting ones when they turn final-incomplete:
 * `incompleteAfterMs` after their own newest mail, by arrival when `arrivedAt`
 * has it, else by Date: header.
 */
export function seriesStates(
  built: readonly BuiltSeries[],
  now: number,
  incompleteAfterMs: number,
  arrivedAt: ReadonlyMap<string, number> | undefined,
): { states: Record<string, SeriesState>; deadlines: Record<string, number> } {
  const states: Record<string, SeriesState> = {};
  const deadlines: Record<string, number> = {};
  for (const b of built) {
    const carried = b.group.carried;
    const own = carried ? b.group.members.filter((m) => !carried.nodes.has(m)) : b.group.members;
    const newest = Math.max(...own.map((m) => (arrivedAt ? (arrivedAt.get(m.id) ?? m.time) : m.time)));
    // A re-roll made whole from the previous version waits like an incomplete one: the rest of a
    // full re-send, each patch answering its counterpart, may still be on its way.
    const waiting = (!b.series.complete || carried !== undefined) && newest > 0 && newest >= now - incompleteAfterMs;
    states[b.series.id] = waiting ? "waiting" : b.series.complete ? "complete" : "incomplete";
    if (waiting) deadlines[b.series.id] = newest + incompleteAfterMs;
  }
  return { states, deadlines };
}
