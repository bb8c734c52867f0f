import { type Series, type SeriesPatch, seriesLists } from "../../domain/series.ts";
import { stableId } from "../../domain/ids.ts";
import type { Node } from "./collect-nodes.ts";
import type { Group } from "./group-members.ts";
import { commitMessageOf, coverTextOf, isPullOf, markersOf } from "./note-body-facts.ts";
import type { ParsedMessage } from "./parse-message.ts";

/** A series with the group it was built from and its root: this version's own first mail. */
export interface BuiltSeries {
  series: Series;
  group: Group;
  root: Node;
}

/** "Name <email>", or whichever of the two the From: header has. */
export function formatAddress(msg: ParsedMessage): string {
  const { name, email } = msg.from;
  if (name !== "" && email !== "") return `${name} <${email}>`;
  return email !== "" ? email : name;
}

/**
 * One Series per group, in group order, without links or trailers yet.
 * `seriesOf` maps each mail to the series of the version that sent it.
 */
export function buildSeries(groups: Iterable<Group>): { built: BuiltSeries[]; seriesOf: Map<Node, Series> } {
  const seriesOf = new Map<Node, Series>();
  const built: BuiltSeries[] = [];
  for (const g of groups) {
    g.members.sort((a, b) => a.index - b.index || a.time - b.time);
    const coverNode = g.members.find((m) => m.index === 0) ?? null;
    const patches = g.members.filter((m) => m.index > 0);
    // head names the series (a carried cover still does, as in b4); root is this version's own first mail.
    const head = coverNode ?? patches[0];
    const own = g.members.filter((m) => !g.carried?.nodes.has(m));
    const root = own.find((m) => m.index === 0) ?? own.find((m) => m.index > 0);
    if (head === undefined || root === undefined) continue;
    const present = new Set(patches.map((p) => p.index));
    const missing: number[] = [];
    for (let i = 1; i <= g.total; i++) if (!present.has(i)) missing.push(i);
    const subj = head.cls.subject;
    const tree = subj.tree ?? patches.find((p) => p.cls.subject.tree !== null)?.cls.subject.tree ?? null;
    let markers = coverNode ? markersOf(coverNode.msg) : { baseCommit: null, changeId: null };
    for (const p of patches) {
      if (markers.baseCommit !== null && markers.changeId !== null) break;
      const m = markersOf(p.msg);
      markers = { baseCommit: markers.baseCommit ?? m.baseCommit, changeId: markers.changeId ?? m.changeId };
    }
    const isPull = coverNode !== null && (coverNode.cls.kind === "pull" || isPullOf(coverNode.msg));
    const rootId = g.loose ? root.id : g.rootId;
    const text = [
      ...(coverNode ? [coverTextOf(coverNode.msg)] : []),
      ...patches.map((p) => commitMessageOf(p.msg)),
    ]
      .filter((t) => t !== "")
      .join("\n\n");
    const carriedFrom = (m: Node): { carriedFrom?: number } =>
      g.carried?.nodes.has(m) ? { carriedFrom: g.carried.from.version } : {};
    const seriesPatches: SeriesPatch[] = patches.map((p) => ({
      index: p.index,
      messageId: p.id,
      subject: p.msg.subject,
      author: formatAddress(p.msg),
      ...carriedFrom(p),
    }));
    const lists = seriesLists(own.map((m) => m.msg.listId));
    const series: Series = {
      id: stableId("series", rootId, String(g.version)),
      source: "mail",
      title: subj.title,
      tree,
      version: g.version,
      rfc: own.some((m) => m.cls.subject.rfc),
      resend: root.cls.subject.resend,
      total: g.total,
      kind: isPull ? "pull" : "patch",
      cover: coverNode ? { messageId: coverNode.id, subject: coverNode.msg.subject, ...carriedFrom(coverNode) } : null,
      patches: seriesPatches,
      missing,
      complete: missing.length === 0,
      baseCommit: markers.baseCommit,
      changeId: markers.changeId,
      trailers: [],
      previousVersion: null,
      ...(lists.length > 0 ? { lists } : {}),
      author: formatAddress(head.msg),
      date: root.msg.date,
      text,
    };
    // Carried mails stay their own version's: replies to them count there (carryTrailers copies them over).
    for (const m of own) seriesOf.set(m, series);
    built.push({ series, group: g, root });
  }
  return { built, seriesOf };
}
