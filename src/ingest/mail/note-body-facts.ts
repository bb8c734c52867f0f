import { classifyMessage, isPullRequestBody } from "./classify-message.ts";
import {
  type SeriesMarkers,
  type Trailer,
  extractCommandLines,
  extractSeriesMarkers,
  extractTrailers,
} from "./extract-trailers.ts";
import type { ParsedMessage } from "./parse-message.ts";

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

export const markersOf = (msg: ParsedMessage): SeriesMarkers => fact(msg, "markers", extractSeriesMarkers);
export const isPullOf = (msg: ParsedMessage): boolean => fact(msg, "isPull", isPullRequestBody);
// The series text joins these into a new string: stop holding the pieces.
export const coverTextOf = (msg: ParsedMessage): string => takeFact(msg, "coverText", withoutSignature);
export const commitMessageOf = (msg: ParsedMessage): string => takeFact(msg, "commitMessage", commitMessage);
export const commandsOf = (msg: ParsedMessage): string[] => fact(msg, "commands", extractCommandLines);
export const trailersOf = (msg: ParsedMessage): Trailer[] => fact(msg, "trailers", (b) => extractTrailers(b));

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
