import type { Series } from "./series.ts";

/**
 * Pure: one line on what a partial re-roll took from the previous version,
 * e.g. "1/2 and the cover carried from v2 unchanged (v3 re-sent only 2/2)";
 * null when the series carries nothing. Said wherever a series is described,
 * so nobody reads the carried patches as reviewed in this version.
 */
export function describeCarried(s: Pick<Series, "cover" | "patches" | "total" | "version">): string | null {
  const carried = s.patches.filter((p) => p.carriedFrom !== undefined);
  const cover = s.cover?.carriedFrom !== undefined;
  if (carried.length === 0 && !cover) return null;
  const from = [...new Set([...carried.map((p) => p.carriedFrom), ...(cover ? [s.cover?.carriedFrom] : [])])]
    .sort((a, b) => (a ?? 0) - (b ?? 0))
    .map((v) => `v${v}`);
  const items = carried.map((p) => `${p.index}/${s.total}`);
  if (cover) items.push("the cover");
  const list = items.length > 1 ? `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}` : (items[0] ?? "");
  const resent = s.patches.filter((p) => p.carriedFrom === undefined).map((p) => `${p.index}/${s.total}`);
  const tail = resent.length > 0 ? ` (v${s.version} re-sent only ${resent.join(", ")})` : "";
  return `${list} carried from ${from.join(", ")} unchanged${tail}`;
}
