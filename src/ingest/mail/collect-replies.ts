import type { Series, SeriesTrailer, UnattributedTrailer } from "../../domain/series.ts";
import { attributeTrailer } from "./attribute-trailer.ts";
import { formatAddress } from "./build-series.ts";
import type { Node } from "./collect-nodes.ts";
import { commandsOf, trailersOf } from "./note-body-facts.ts";

export type ReplyKind = "review" | "bot" | "command" | "other";

export interface Reply {
  messageId: string;
  inReplyTo: string | null;
  kind: ReplyKind;
  /** "Name <email>" */
  from: string;
  subject: string;
  date: string | null;
  /** The first `/bench` line, for commands. */
  command?: string;
  /** Every `/bench` line, for commands. */
  commands?: string[];
  /** Which robot, for bots. */
  bot?: string;
  /** The series version this message is about (through its thread), if any. */
  seriesId: string | null;
  /** Patch index it answers; 0 for the cover; null when not in a known series. */
  patch: number | null;
}

interface Target {
  series: Series;
  patch: number;
}

/**
 * A Reply for every mail that is not a series member, in input order, with
 * what it answers found up its thread. Follow-up trailers in reviews and
 * commands are collected onto the series they answer, as b4 does: once per
 * patch and line (a refused one once per sender too).
 */
export function collectReplies(
  nodes: readonly Node[],
  byId: ReadonlyMap<string, Node>,
  seriesOf: ReadonlyMap<Node, Series>,
): Reply[] {
  const targets = new Map<Node, Target | null>();
  const targetOf = (node: Node, depth: number): Target | null => {
    if (targets.has(node)) return targets.get(node) ?? null;
    let result: Target | null = null;
    if (depth < 64) {
      for (const a of node.ancestors) {
        const anc = byId.get(a);
        if (anc === undefined || anc === node) continue;
        const s = seriesOf.get(anc);
        if (s) {
          result = { series: s, patch: anc.index };
          break;
        }
        if (!anc.member) {
          result = targetOf(anc, depth + 1);
          if (result) break;
        }
      }
    }
    targets.set(node, result);
    return result;
  };
  const replies: Reply[] = [];
  const trailerKeys = new Map<Series, Set<string>>();
  for (const node of nodes) {
    if (node.member) continue; // in a series, or a quarantined duplicate
    const target = targetOf(node, 0);
    const kind: ReplyKind =
      node.cls.kind === "bot"
        ? "bot"
        : node.cls.kind === "command"
          ? "command"
          : node.cls.kind === "reply"
            ? "review"
            : "other";
    const reply: Reply = {
      messageId: node.id,
      inReplyTo: node.msg.inReplyTo,
      kind,
      from: formatAddress(node.msg),
      subject: node.msg.subject,
      date: node.msg.date,
      seriesId: target?.series.id ?? null,
      patch: target?.patch ?? null,
    };
    if (kind === "command") {
      const commands = commandsOf(node.msg);
      if (commands[0] !== undefined) reply.command = commands[0];
      reply.commands = commands;
    }
    if (kind === "bot" && node.cls.bot !== null) reply.bot = node.cls.bot;
    replies.push(reply);
    if (target && (kind === "review" || kind === "command")) {
      let keys = trailerKeys.get(target.series);
      if (!keys) {
        keys = new Set();
        trailerKeys.set(target.series, keys);
      }
      for (const t of trailersOf(node.msg)) {
        const verdict = attributeTrailer(t, node.msg.from);
        const k = `${target.patch}\0${t.line}\0${verdict.attributed ? "" : reply.from}`;
        if (keys.has(k)) continue;
        keys.add(k);
        if (verdict.attributed) {
          const trailer: SeriesTrailer = { patch: target.patch, line: t.line };
          target.series.trailers.push(trailer);
        } else {
          const refused: UnattributedTrailer = { patch: target.patch, line: t.line, from: reply.from, reason: verdict.reason };
          target.series.unattributedTrailers ??= [];
          target.series.unattributedTrailers.push(refused);
        }
      }
    }
  }
  return replies;
}
