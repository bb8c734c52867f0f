/** What findCarriedPatches needs of a mail: is it a series member, and where. */
export interface RerollNode {
  member: boolean;
  /** 0 for a cover. */
  index: number;
  total: number;
}

export interface RerollGroup {
  version: number;
  total: number;
}

export interface RerollLinks<N, G> {
  /** The mail this one answers (its In-Reply-To), when we have it. */
  parentOf(node: N): N | undefined;
  /** The groups holding a mail: the one it was sent in, and any it was carried into. */
  groupsOf(node: N): readonly G[];
  /** A group's mails, carried ones included (a re-roll of a re-roll). */
  membersOf(group: G): readonly N[];
}

const MAX_DEPTH = 64;

/** The nearest mail up the In-Reply-To chain that is patch i/total of a series. */
function sameIndexUpthread<N extends RerollNode>(node: N, parentOf: (n: N) => N | undefined): N | undefined {
  let cur = parentOf(node);
  for (let depth = 0; cur !== undefined && depth < MAX_DEPTH; depth++) {
    if (cur.member && cur.index === node.index && cur.total === node.total) return cur;
    cur = parentOf(cur);
  }
  return undefined;
}

/**
 * A partial re-roll, as b4 reconstitutes one (LoreMailbox.partial_reroll):
 * version N sent only the patches that changed, each in reply (directly or up
 * the In-Reply-To chain) to the same i/M of version N−1. The patches it did
 * not send, and the cover when it has none, are version N−1's, unchanged.
 * Version N−1 may itself be such a re-roll, so a counterpart may be a mail
 * version N−1 carried. Returns the mails to take and their group (`from`), or
 * null when `own` (the group's own mails) is not such a re-roll: nothing
 * missing, version 1, a patch not sent in reply to a counterpart in version
 * N−1, counterparts in different series, or nothing to take.
 */
export function findCarriedPatches<N extends RerollNode, G extends RerollGroup>(
  group: G,
  own: readonly N[],
  links: RerollLinks<N, G>,
): { from: G; nodes: N[] } | null {
  if (group.version <= 1) return null;
  const patches = own.filter((m) => m.index > 0);
  const present = new Set(patches.map((m) => m.index));
  if (patches.length === 0 || present.size >= group.total) return null;
  let from: G | undefined;
  for (const p of patches) {
    const counterpart = sameIndexUpthread(p, links.parentOf);
    const g = counterpart === undefined ? undefined : links.groupsOf(counterpart).find((x) => x.version === group.version - 1);
    if (g === undefined || g.total !== group.total || (from !== undefined && g !== from)) return null;
    from = g;
  }
  if (from === undefined) return null;
  const hasCover = own.some((m) => m.index === 0);
  const nodes = links.membersOf(from).filter((m) => (m.index === 0 ? !hasCover : !present.has(m.index)));
  return nodes.some((m) => m.index > 0) ? { from, nodes } : null;
}
