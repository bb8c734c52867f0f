import { type Series, type SeriesPatch, type SeriesTrailer, type UnattributedTrailer, seriesRef } from "../../domain/series.ts";
import { stableId } from "../../domain/ids.ts";
import { attributeTrailer } from "./attribute-trailer.ts";
import { type Classification, classifyMessage, isPullRequestBody } from "./classify-message.ts";
import {
  type SeriesMarkers,
  type Trailer,
  extractCommandLines,
  extractSeriesMarkers,
  extractTrailers,
} from "./extract-trailers.ts";
import { findCarriedPatches } from "./find-carried-patches.ts";
import type { ParsedMessage } from "./parse-message.ts";
import { normalizeTitle, parseSubject } from "./parse-subject.ts";

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

export interface Quarantined {
  messageId: string | null;
  reason: string;
}

/** complete; waiting = patches missing but the deadline has not passed; incomplete = final. */
export type SeriesState = "complete" | "waiting" | "incomplete";

export interface GroupSeriesResult {
  series: Series[];
  replies: Reply[];
  quarantined: Quarantined[];
  /** Series id → state (kept out of Series, which is the shared JSON contract). */
  states: Record<string, SeriesState>;
  /** Series id → when a waiting series turns final-incomplete (ms since the epoch); waiting series only. */
  deadlines: Record<string, number>;
}

export interface GroupSeriesOptions {
  /** A series with missing patches whose newest mail is older than now − this is final-incomplete. Default 24 h. */
  incompleteAfterMs?: number;
  /** "Now" in ms since the epoch. Default Date.now(). */
  now?: number;
  /**
   * Message-ID → when we received it (ms). When given, the incomplete deadline
   * counts from the newest arrival instead of the newest Date: header (a
   * sender's clock, or a mail re-sent from an archive, says nothing about when
   * the rest of the series can still come).
   */
  arrivedAt?: ReadonlyMap<string, number>;
  /** Unthreaded mails of one author join one series when at most this far apart. Default 6 h. */
  unthreadedWindowMs?: number;
}

const HOUR = 3_600_000;

interface Node {
  msg: ParsedMessage;
  id: string;
  cls: Classification;
  /** Thread ancestors, nearest first. */
  ancestors: string[];
  member: boolean;
  index: number;
  total: number;
  time: number;
  seq: number;
}

interface Group {
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

function formatAddress(msg: ParsedMessage): string {
  const { name, email } = msg.from;
  if (name !== "" && email !== "") return `${name} <${email}>`;
  return email !== "" ? email : name;
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

/** Commit message of a patch body: everything before the `---` line (or the diff). */
function commitMessage(body: string): string {
  // Line by line up to the end of the message, not a split of the whole diff.
  const out: string[] = [];
  let pos = 0;
  for (;;) {
    let nl = body.indexOf("\n", pos);
    if (nl < 0) nl = body.length;
    const l = body.charCodeAt(nl - 1) === 13 && nl > pos ? body.slice(pos, nl - 1) : body.slice(pos, nl);
    if (l === "---" || l.startsWith("diff --git ") || l === "-- ") break;
    out.push(l);
    if (nl >= body.length) break;
    pos = nl + 1;
  }
  return out.join("\n").trim();
}

function withoutSignature(body: string): string {
  const i = body.search(/^-- \r?$/m);
  return (i >= 0 ? body.slice(0, i) : body).trim();
}

/**
 * What grouping reads from a body, by message. A body read on a message whose
 * bytes live in a file loads and decodes them again, so a caller that has the
 * bytes in hand (assembleMailbox) notes these facts once with noteBodyFacts and
 * then lets the bytes go. A fact not noted is computed from the body on demand,
 * with the same function, so the result never depends on noting.
 */
interface BodyFacts {
  markers?: SeriesMarkers;
  isPull?: boolean;
  /** Cover text for the series: the body without its signature. */
  coverText?: string | undefined;
  commitMessage?: string | undefined;
  commands?: string[];
  trailers?: Trailer[];
}

const bodyFacts = new WeakMap<ParsedMessage, BodyFacts>();

function fact<K extends keyof BodyFacts>(msg: ParsedMessage, key: K, compute: (body: string) => NonNullable<BodyFacts[K]>): NonNullable<BodyFacts[K]> {
  let f = bodyFacts.get(msg);
  if (!f) {
    f = {};
    bodyFacts.set(msg, f);
  }
  const known = f[key];
  if (known !== undefined) return known as NonNullable<BodyFacts[K]>;
  const value = compute(msg.body);
  f[key] = value;
  return value;
}

/** A fact read once per grouping (the series text): handed over and no longer held here. */
function takeFact(msg: ParsedMessage, key: "coverText" | "commitMessage", compute: (body: string) => string): string {
  const f = bodyFacts.get(msg);
  const known = f?.[key];
  if (f === undefined || known === undefined) return compute(msg.body);
  f[key] = undefined;
  return known;
}

const markersOf = (msg: ParsedMessage): SeriesMarkers => fact(msg, "markers", extractSeriesMarkers);
const isPullOf = (msg: ParsedMessage): boolean => fact(msg, "isPull", isPullRequestBody);
// The series text joins these into a new string: stop holding the pieces.
const coverTextOf = (msg: ParsedMessage): string => takeFact(msg, "coverText", withoutSignature);
const commitMessageOf = (msg: ParsedMessage): string => takeFact(msg, "commitMessage", commitMessage);
const commandsOf = (msg: ParsedMessage): string[] => fact(msg, "commands", extractCommandLines);
const trailersOf = (msg: ParsedMessage): Trailer[] => fact(msg, "trailers", (b) => extractTrailers(b));

/**
 * A copy of `s` that does not keep a larger string alive: V8 returns a
 * substring of 13+ characters (regex groups, split lines) as a view that pins
 * its parent, here the whole decoded body. Flattening a fresh concatenation
 * copies just these characters.
 */
function own(s: string): string {
  return s.length < 13 ? s : (s + " ").slice(0, -1);
}

/**
 * Cover and commit texts up to this many characters are noted while the bytes are in hand; a
 * longer one (a pull request's shortlog and diffstat, a pasted log: a few percent of mails, most
 * of the bytes) is read again from the message when its series is built, so a mailbox's worth of
 * them is not held at once.
 */
const HELD_TEXT_MAX = 4096;

function heldText(s: string): string | undefined {
  return s.length > HELD_TEXT_MAX ? undefined : own(s);
}

function ownMarkers(m: SeriesMarkers): SeriesMarkers {
  return { baseCommit: m.baseCommit === null ? null : own(m.baseCommit), changeId: m.changeId === null ? null : own(m.changeId) };
}

/**
 * Note, from `body` (the message's decoded body), the facts groupSeries will
 * read for this message given its classification, so that grouping does not
 * read the body again. Optional: groupSeries computes any missing fact itself.
 */
export function noteBodyFacts(msg: ParsedMessage, body: string = msg.body): void {
  if (msg.messageId === null || msg.htmlOnly) return;
  const cls = classifyMessage(msg);
  const f: BodyFacts = bodyFacts.get(msg) ?? {};
  if (cls.kind === "patch" || cls.kind === "cover" || cls.kind === "pull") {
    f.markers ??= ownMarkers(extractSeriesMarkers(body));
    const index = cls.subject.index ?? (cls.kind === "patch" ? 1 : 0);
    if ((cls.kind === "pull" && cls.subject.index === null) || index === 0) {
      f.isPull ??= isPullRequestBody(body);
      f.coverText ??= heldText(withoutSignature(body));
    } else f.commitMessage ??= heldText(commitMessage(body));
  } else if (cls.kind === "command" || cls.kind === "reply") {
    if (cls.kind === "command") f.commands ??= extractCommandLines(body).map(own);
    f.trailers ??= extractTrailers(body).map((t) => ({ name: own(t.name), value: own(t.value), line: own(t.line) }));
  }
  bodyFacts.set(msg, f);
}

/**
 * Groups parsed mails into series versions, replies and quarantined mails.
 * Pure: no I/O, and bad data never throws (it is quarantined with a reason).
 */
export function groupSeries(messages: readonly ParsedMessage[], options: GroupSeriesOptions = {}): GroupSeriesResult {
  const now = options.now ?? Date.now();
  const incompleteAfter = options.incompleteAfterMs ?? 24 * HOUR;
  const window = options.unthreadedWindowMs ?? 6 * HOUR;
  const quarantined: Quarantined[] = [];

  // 1. One node per Message-ID; cross-posted copies count once.
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
      index: cls.kind === "pull" && subject.index === null ? 0 : index,
      total,
      time: msg.time ?? 0,
      seq: seq++,
    };
    byId.set(node.id, node);
    nodes.push(node);
    if (member) {
      for (const p of msg.problems) {
        if (p.startsWith("MIME decoding failed") || p === "invalid base64 body") {
          quarantined.push({ messageId: node.id, reason: `body could not be decoded: ${p}` });
        }
      }
      if (cls.kind === "patch" && msg.headers.contentType.flowed) {
        quarantined.push({ messageId: node.id, reason: "format=flowed patch would be mangled by git am" });
      }
    }
  }
  // Outlook/Exchange rewrite Message-IDs and keep the original: answer to both.
  for (const node of nodes) {
    const orig = node.msg.headers.originalMessageId;
    if (orig !== null && !byId.has(orig)) byId.set(orig, node);
  }

  // 2. Anchor of each member: its cover, or a missing cover's id (virtual), or itself.
  const compatible = (p: Node, c: Node): boolean =>
    c.member &&
    c.total === p.total &&
    (c.cls.subject.version === p.cls.subject.version || !p.cls.subject.explicitVersion);
  interface Anchor {
    id: string;
    /** The anchor node when it is a real cover/pull. */
    cover: Node | null;
  }
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
  const members = nodes.filter((n) => n.member).sort((a, b) => a.time - b.time || a.seq - b.seq);
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

  // 3. Unthreaded series: same author, version and total, close in time, no index twice.
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
              Math.abs(start - latest(c)) <= window &&
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

  // 3b. Partial re-rolls take the patches they did not re-send from the previous version (as b4 does).
  // Oldest version first, so a re-roll of a re-roll finds the earlier one already whole.
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

  // 4. Series from groups.
  const seriesOf = new Map<Node, Series>();
  const built: { series: Series; group: Group; root: Node }[] = [];
  for (const g of groups.values()) {
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
      author: formatAddress(head.msg),
      date: root.msg.date,
      text,
    };
    // Carried mails stay their own version's: replies to them count there (and are carried below).
    for (const m of own) seriesOf.set(m, series);
    built.push({ series, group: g, root });
  }

  // 5. Link versions: b4 change-id, then threading, then same author + same title.
  const refOf = seriesRef;
  const pickPrevious = (cands: { series: Series; root: Node }[], v: number): { series: Series; root: Node } | undefined =>
    cands
      .filter((c) => c.series.version < v)
      .sort((a, b) => b.series.version - a.series.version || b.root.time - a.root.time)[0];
  const byChangeId = new Map<string, typeof built>();
  const byTitle = new Map<string, typeof built>();
  const push = (m: Map<string, typeof built>, k: string, b: (typeof built)[number]): void => {
    const list = m.get(k);
    if (list) list.push(b);
    else m.set(k, [b]);
  };
  for (const b of built) {
    if (b.series.changeId !== null) push(byChangeId, b.series.changeId, b);
    push(byTitle, `${b.group.author}\0${normalizeTitle(b.series.title)}`, b);
  }
  const builtBySeries = new Map(built.map((b) => [b.series, b]));
  for (const b of built) {
    const v = b.series.version;
    let prev: { series: Series; root: Node } | undefined;
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
    b.series.previousVersion = prev ? refOf(prev.series) : null;
  }

  // 6. Replies: find what each answers; collect follow-up trailers as b4 does.
  const targets = new Map<Node, { series: Series; patch: number } | null>();
  const targetOf = (node: Node, depth: number): { series: Series; patch: number } | null => {
    if (targets.has(node)) return targets.get(node) ?? null;
    let result: { series: Series; patch: number } | null = null;
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

  // A partial re-roll keeps what was said about the mails it carried (b4 keeps their follow-up trailers).
  const seriesOfGroup = new Map(built.map((b) => [b.group, b.series]));
  for (const b of [...built].sort((x, y) => x.series.version - y.series.version)) {
    const carried = b.group.carried;
    const from = carried ? seriesOfGroup.get(carried.from) : undefined;
    if (!carried || !from) continue;
    const indices = new Set([...carried.nodes].map((n) => n.index));
    b.series.trailers.push(...from.trailers.filter((t) => indices.has(t.patch)).map((t) => ({ ...t })));
    const refused = (from.unattributedTrailers ?? []).filter((t) => indices.has(t.patch)).map((t) => ({ ...t }));
    if (refused.length > 0) b.series.unattributedTrailers = [...(b.series.unattributedTrailers ?? []), ...refused];
  }

  const states: Record<string, SeriesState> = {};
  const deadlines: Record<string, number> = {};
  const arrival = options.arrivedAt;
  for (const b of built) {
    b.series.trailers.sort((x, y) => x.patch - y.patch);
    b.series.unattributedTrailers?.sort((x, y) => x.patch - y.patch);
    const carried = b.group.carried;
    const own = carried ? b.group.members.filter((m) => !carried.nodes.has(m)) : b.group.members;
    const newest = Math.max(...own.map((m) => (arrival ? (arrival.get(m.id) ?? m.time) : m.time)));
    // A re-roll made whole from the previous version waits like an incomplete one: the rest of a
    // full re-send, each patch answering its counterpart, may still be on its way.
    const waiting = (!b.series.complete || carried !== undefined) && newest > 0 && newest >= now - incompleteAfter;
    states[b.series.id] = waiting ? "waiting" : b.series.complete ? "complete" : "incomplete";
    if (waiting) deadlines[b.series.id] = newest + incompleteAfter;
  }
  const series = built
    .sort((a, b) => a.root.time - b.root.time || a.root.seq - b.root.seq)
    .map((b) => b.series);
  replies.sort((a, b) => ((a.date ?? "") < (b.date ?? "") ? -1 : (a.date ?? "") > (b.date ?? "") ? 1 : 0));
  return { series, replies, quarantined, states, deadlines };
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
