import { type Series, seriesRef } from "../../domain/series.ts";
import type { BuiltSeries } from "./build-series.ts";
import type { Node } from "./collect-nodes.ts";
import { normalizeTitle } from "./parse-subject.ts";

type Candidate = Pick<BuiltSeries, "series" | "root">;

/** The newest earlier version among `cands`; of two alike, the later sent. */
function pickPrevious(cands: Candidate[], v: number): Candidate | undefined {
  return cands
    .filter((c) => c.series.version < v)
    .sort((a, b) => b.series.version - a.series.version || b.root.time - a.root.time)[0];
}

function push(m: Map<string, BuiltSeries[]>, k: string, b: BuiltSeries): void {
  const list = m.get(k);
  if (list) list.push(b);
  else m.set(k, [b]);
}

/**
 * Sets each series' previousVersion: by b4 change-id, then by threading (the
 * root answers a mail of an earlier version), then by same author and title.
 */
export function linkVersions(built: readonly BuiltSeries[], byId: ReadonlyMap<string, Node>, seriesOf: ReadonlyMap<Node, Series>): void {
  const byChangeId = new Map<string, BuiltSeries[]>();
  const byTitle = new Map<string, BuiltSeries[]>();
  for (const b of built) {
    if (b.series.changeId !== null) push(byChangeId, b.series.changeId, b);
    push(byTitle, `${b.group.author}\0${normalizeTitle(b.series.title)}`, b);
  }
  const builtBySeries = new Map(built.map((b) => [b.series, b]));
  for (const b of built) {
    const v = b.series.version;
    let prev: Candidate | undefined;
    if (b.series.changeId !== null) {
      prev = pickPrevious((byChangeId.get(b.series.changeId) ?? []).filter((c) => c !== b), v);
    }
    if (!prev) {
      for (const a of b.root.ancestors) {
        const anc = byId.get(a);
        const s = anc ? seriesOf.get(anc) : undefined;
        if (s && s !== b.series && s.version < v) {
          prev = builtBySeries.get(s);
          break;
        }
      }
    }
    if (!prev) {
      const list = byTitle.get(`${b.group.author}\0${normalizeTitle(b.series.title)}`) ?? [];
      prev = pickPrevious(
        list.filter((c) => c !== b),
        v,
      );
    }
    b.series.previousVersion = prev ? seriesRef(prev.series) : null;
  }
}
