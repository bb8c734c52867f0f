import { type Classification, classifyMessage } from "./classify-message.ts";
import type { ParsedMessage } from "./parse-message.ts";
import { parseSubject } from "./parse-subject.ts";

export interface Quarantined {
  messageId: string | null;
  reason: string;
}

/** One mail as grouping sees it. */
export interface Node {
  msg: ParsedMessage;
  id: string;
  cls: Classification;
  /** Thread ancestors, nearest first. */
  ancestors: string[];
  member: boolean;
  /** A member `git am` could not use (its body): quarantined, so in no series, though its thread still leads through it. */
  quarantined: boolean;
  index: number;
  total: number;
  time: number;
  seq: number;
}

function normalizeBody(body: string): string {
  return body.replace(/\r\n/g, "\n").trimEnd();
}

function sameBody(a: ParsedMessage, b: ParsedMessage): boolean {
  if (a.raw.length === b.raw.length && Buffer.compare(a.raw, b.raw) === 0) return true;
  const x = normalizeBody(a.body);
  const y = normalizeBody(b.body);
  // A list may append its footer to its copy: one body is then a prefix of the other.
  return x === y || x.startsWith(y) || y.startsWith(x);
}

function ancestorsOf(msg: ParsedMessage): string[] {
  const out: string[] = [];
  // A Set, not out.includes: a hostile References header may carry tens of thousands of ids.
  const seen = new Set<string>();
  const add = (id: string): void => {
    if (id !== msg.messageId && !seen.has(id)) {
      seen.add(id);
      out.push(id);
    }
  };
  for (const id of msg.inReplyToAll) add(id);
  for (let i = msg.references.length - 1; i >= 0; i--) add(msg.references[i] ?? "");
  // Held per mail while grouping: an exact-length copy (a pushed-to array keeps room for 17).
  return out.filter((id) => id !== "").slice();
}

/**
 * One node per Message-ID, in input order; cross-posted copies count once.
 * Mails that cannot take part (no header block, no Message-ID, HTML only, a
 * conflicting duplicate) go to `quarantined` instead, as do members whose body
 * `git am` could not use: those keep a node (marked `quarantined`) so mails
 * threaded below them still find their series, but are never part of one.
 * `byId` also answers to each mail's original Message-ID.
 */
export function collectNodes(messages: readonly ParsedMessage[], quarantined: Quarantined[]): { nodes: Node[]; byId: Map<string, Node> } {
  const byId = new Map<string, Node>();
  const nodes: Node[] = [];
  let seq = 0;
  for (const msg of messages) {
    if (msg.problems.includes("no RFC 5322 header block")) {
      quarantined.push({ messageId: msg.messageId, reason: "not a mail: no RFC 5322 header block" });
      continue;
    }
    if (msg.messageId === null) {
      quarantined.push({ messageId: null, reason: `missing Message-ID header (subject: ${JSON.stringify(msg.subject.slice(0, 120))})` });
      continue;
    }
    const seen = byId.get(msg.messageId);
    if (seen) {
      if (!sameBody(seen.msg, msg)) {
        quarantined.push({ messageId: msg.messageId, reason: "duplicate Message-ID with a different body (second copy ignored)" });
      }
      continue;
    }
    if (msg.htmlOnly) {
      quarantined.push({ messageId: msg.messageId, reason: "HTML-only mail: no text/plain part" });
      continue;
    }
    const subject = parseSubject(msg.subject);
    const cls = classifyMessage(msg, subject);
    const member = cls.kind === "patch" || cls.kind === "cover" || cls.kind === "pull";
    const index = subject.index ?? (cls.kind === "patch" ? 1 : 0);
    const total = subject.total ?? (cls.kind === "patch" ? 1 : 0);
    const node: Node = {
      msg,
      id: msg.messageId,
      cls,
      ancestors: ancestorsOf(msg),
      member,
      quarantined: false,
      index: cls.kind === "pull" && subject.index === null ? 0 : index,
      total,
      time: msg.time ?? 0,
      seq: seq++,
    };
    byId.set(node.id, node);
    nodes.push(node);
    if (member) {
      const why: string[] = [];
      for (const p of msg.problems) {
        if (p.startsWith("MIME decoding failed") || p === "invalid base64 body") why.push(`body could not be decoded: ${p}`);
      }
      if (cls.kind === "patch" && msg.headers.contentType.flowed) why.push("format=flowed patch would be mangled by git am");
      for (const reason of why) quarantined.push({ messageId: node.id, reason });
      node.quarantined = why.length > 0;
    }
  }
  // Outlook/Exchange rewrite Message-IDs and keep the original: answer to both.
  for (const node of nodes) {
    const orig = node.msg.headers.originalMessageId;
    if (orig !== null && !byId.has(orig)) byId.set(orig, node);
  }
  return { byId, nodes };
}
