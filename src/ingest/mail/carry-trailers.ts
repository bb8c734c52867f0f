import type { Series } from "../../domain/series.ts";
import type { BuiltSeries } from "./build-series.ts";
import type { Group } from "./group-members.ts";

/**
 * A partial re-roll keeps what was said about the mails it carried (b4 keeps
 * their follow-up trailers): copies of the previous version's trailers on
 * those patches. Oldest version first, so a re-roll of a re-roll gets them too.
 */
export function carryTrailers(built: readonly BuiltSeries[]): void {
  const seriesOfGroup = new Map<Group, Series>(built.map((b) => [b.group, b.series]));
  for (const b of [...built].sort((x, y) => x.series.version - y.series.version)) {
    const carried = b.group.carried;
    const from = carried ? seriesOfGroup.get(carried.from) : undefined;
    if (!carried || !from) continue;
    const indices = new Set([...carried.nodes].map((n) => n.index));
    b.series.trailers.push(...from.trailers.filter((t) => indices.has(t.patch)).map((t) => ({ ...t })));
    const refused = (from.unattributedTrailers ?? []).filter((t) => indices.has(t.patch)).map((t) => ({ ...t }));
    if (refused.length > 0) b.series.unattributedTrailers = [...(b.series.unattributedTrailers ?? []), ...refused];
  }
}
