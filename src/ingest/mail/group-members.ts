import type { Node, Quarantined } from "./collect-nodes.ts";
import { findCarriedPatches } from "./find-carried-patches.ts";

/** The mails of one series version. */
export interface Group {
  key: string;
  rootId: string;
  members: Node[];
  /** All members are threadless (or only threaded to mails of other series). */
  loose: boolean;
  version: number;
  total: number;
  author: string;
  /** A partial re-roll: the previous version's group and the mails taken over from it. */
  carried?: { from: Group; nodes: Set<Node> };
}

interface Anchor {
  id: string;
  /** The anchor node when it is a real cover/pull. */
  cover: Node | null;
}

function earliest(g: Group): number {
  let t = Number.POSITIVE_INFINITY;
  for (const m of g.members) t = Math.min(t, m.time);
  return t;
}

function latest(g: Group): number {
  let t = 0;
  for (const m of g.members) t = Math.max(t, m.time);
  return t;
}

/**
 * Series members grouped into versions: by thread anchor first, then loose
 * mails of one author joined by time (within `windowMs`), then partial
 * re-rolls completed from their previous version. A second mail for an index
 * a group already has is quarantined.
 */
export function groupMembers(
  nodes: readonly Node[],
  byId: ReadonlyMap<string, Node>,
  windowMs: number,
  quarantined: Quarantined[],
): Map<string, Group> {
  // Anchor of each member: its cover, or a missing cover's id (virtual), or itself.
  const compatible = (p: Node, c: Node): boolean =>
    c.member &&
    c.total === p.total &&
    (c.cls.subject.version === p.cls.subject.version || !p.cls.subject.explicitVersion);
  const anchors = new Map<Node, Anchor>();
  const anchorOf = (node: Node, depth: number): Anchor => {
    const known = anchors.get(node);
    if (known) return known;
    let result: Anchor = { id: node.id, cover: null };
    if (node.index === 0) {
      result = { id: node.id, cover: node };
    } else if (node.cls.subject.index !== null && depth < 64) {
      let virtual: string | null = null;
      for (const a of node.ancestors) {
        const anc = byId.get(a);
        if (anc === undefined) {
          virtual ??= a;
          continue;
        }
        if (anc === node || !compatible(node, anc)) continue;
        result = anc.index === 0 ? { id: anc.id, cover: anc } : anchorOf(anc, depth + 1);
        virtual = null;
        break;
      }
      if (virtual !== null) result = { id: virtual, cover: null };
    }
    anchors.set(node, result);
    return result;
  };

  const groups = new Map<string, Group>();
  // A quarantined mail is missing from its series, like one never received.
  const members = nodes.filter((n) => n.member && !n.quarantined).sort((a, b) => a.time - b.time || a.seq - b.seq);
  const dupQuarantine = new Set<Node>();
  for (const node of members) {
    const anchor = anchorOf(node, 0);
    const version =
      node.cls.subject.explicitVersion || anchor.cover === null ? node.cls.subject.version : anchor.cover.cls.subject.version;
    const key = `${anchor.id}\0${version}\0${node.total}`;
    let g = groups.get(key);
    if (!g) {
      g = {
        key,
        rootId: anchor.id,
        members: [],
        loose: false,
        version,
        total: node.total,
        author: node.msg.from.email.toLowerCase(),
      };
      groups.set(key, g);
    }
    if (g.members.some((m) => m.index === node.index)) {
      dupQuarantine.add(node);
      continue;
    }
    g.members.push(node);
  }

  // Unthreaded series: same author, version and total, close in time, no index twice.
  // Threaded groups stay as they are; loose ones (every member its own anchor) may join.
  for (const g of groups.values()) g.loose = g.members.every((m) => anchors.get(m)?.id === m.id);
  const candidates = [...groups.values()]
    .filter((g) => g.total > 1)
    .sort((a, b) => Number(a.loose) - Number(b.loose) || earliest(a) - earliest(b));
  const clusters = new Map<string, Group[]>();
  for (const g of candidates) {
    const ck = `${g.author}\0${g.version}\0${g.total}`;
    let list = clusters.get(ck);
    if (!list) {
      list = [];
      clusters.set(ck, list);
    }
    const start = earliest(g);
    const target = g.loose
      ? list
          .filter(
            (c) =>
              Math.abs(start - latest(c)) <= windowMs &&
              !g.members.some((m) => c.members.some((x) => x.index === m.index)),
          )
          .sort((a, b) => Math.abs(start - latest(a)) - Math.abs(start - latest(b)))[0]
      : undefined;
    if (target) {
      target.members.push(...g.members);
      groups.delete(g.key);
    } else {
      list.push(g);
    }
  }
  for (const node of dupQuarantine) {
    // A duplicate that found no home: a resend with a new Message-ID inside one thread.
    quarantined.push({
      messageId: node.id,
      reason: `duplicate of patch ${node.index}/${node.total} already in this series (sent again with another Message-ID)`,
    });
  }

  carryPartialRerolls(groups, byId);
  return groups;
}

/**
 * Partial re-rolls take the patches they did not re-send from the previous version (as b4 does).
 * Oldest version first, so a re-roll of a re-roll finds the earlier one already whole.
 */
function carryPartialRerolls(groups: ReadonlyMap<string, Group>, byId: ReadonlyMap<string, Node>): void {
  const holding = new Map<Node, Group[]>();
  for (const g of groups.values()) for (const m of g.members) holding.set(m, [g]);
  for (const g of [...groups.values()].sort((a, b) => a.version - b.version)) {
    const found = findCarriedPatches(g, g.members, {
      parentOf: (n) => (n.msg.inReplyTo === null ? undefined : byId.get(n.msg.inReplyTo)),
      groupsOf: (n) => holding.get(n) ?? [],
      membersOf: (p) => p.members,
    });
    if (!found) continue;
    g.carried = { from: found.from, nodes: new Set(found.nodes) };
    g.members.push(...found.nodes);
    for (const n of found.nodes) holding.get(n)?.push(g);
  }
}
