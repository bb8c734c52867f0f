import { isUtf8 } from "node:buffer";
import PostalMime, { decodeWords } from "postal-mime";
import { decodeSimpleMultipart } from "./decode-simple-multipart.ts";

/**
 * Raw mail bytes → the fields patchbench needs. Headers are scanned by hand;
 * postal-mime decodes the body only when it is multipart (or message/*).
 *
 * Why hand-rolled headers (measured here, Node 20, shared 2-vCPU VM): over the
 * 148 fixture mails under shared/fixtures/mail repeated to 20,000 parses,
 * `PostalMime.parse` alone ran at 800–1,800 msg/s (it decodes every header and
 * copies every part through a Blob), while this header scan + direct decode of
 * a single text part + classifyMessage ran at 6,300–15,000 msg/s in the same
 * runs (FACTS.md had ~4,800 msg/s for postal-mime on plain patch mails). That
 * is below the 10,000 msg/s goal for postal-mime on its own. Kernel mail is
 * almost always one text/plain part in 7bit/8bit, so only multipart (bot+bpf-ci,
 * HTML alternatives, attachments) still goes through postal-mime, which gets
 * MIME right. scripts/bench-ingest.ts measures the whole path.
 *
 * The raw bytes are kept untouched: `git am` must get them, never text rebuilt
 * from the parse (FACTS.md, Mail parsing).
 */

export interface MailAddress {
  name: string;
  email: string;
}

export interface ContentType {
  /** Lower-cased `type/subtype`; `text/plain` when the header is missing. */
  mimeType: string;
  charset: string | null;
  /** `format=flowed` (RFC 3676): git am would re-wrap such a patch. */
  flowed: boolean;
  delsp: boolean;
  boundary: string | null;
}

export interface ClassificationHeaders {
  /** Every `X-Patchbench-*` header, lower-cased name → value (our own mail). */
  patchbench: Record<string, string>;
  authenticationResults: string[];
  mailingList: string | null;
  contentType: ContentType;
  contentTransferEncoding: string | null;
  /** Exchange/Outlook keep the id they replaced here. */
  originalMessageId: string | null;
}

export interface ParsedMessage {
  /** Without angle brackets; null when missing. */
  messageId: string | null;
  /** First id of the (first) In-Reply-To header. */
  inReplyTo: string | null;
  /** Every id of every In-Reply-To header (some mailers send two). */
  inReplyToAll: string[];
  references: string[];
  /** Decoded, unfolded. Empty string when missing. */
  subject: string;
  from: MailAddress;
  /** ISO 8601, or null when missing or unparsable. */
  date: string | null;
  /** Milliseconds since the epoch (NaN-free), or null. */
  time: number | null;
  listId: string | null;
  headers: ClassificationHeaders;
  /** Decoded text of the text/plain part ("" when none). */
  body: string;
  /** No text/plain part, only HTML. */
  htmlOnly: boolean;
  /** Things that went wrong while decoding, for quarantine reasons. */
  problems: string[];
  /** The original bytes, untouched. */
  raw: Uint8Array;
}

export interface ParseMessageOptions {
  /** Skip body decoding (headers only). */
  headersOnly?: boolean;
  /**
   * Load the raw bytes again when needed (e.g. by offset from the mbox file)
   * instead of keeping them: after releaseRaw() the message holds only what
   * was parsed.
   */
  loadRaw?: () => Uint8Array;
  /**
   * Share equal strings and equal header objects with the other messages
   * parsed with the same pool (a caller holding many messages at once, e.g.
   * assembleMailbox: a thread repeats its ids in every References header).
   * The shared parts must not be mutated (ParsedMessage is read-only anyway).
   */
  pool?: SharePool;
}

/** Equal values parsed from many mails, stored once. */
export class SharePool {
  readonly #strings = new Map<string, string>();
  readonly #objects = new Map<string, unknown>();
  str(s: string): string {
    const known = this.#strings.get(s);
    if (known !== undefined) return known;
    this.#strings.set(s, s);
    return s;
  }
  strOrNull(s: string | null): string | null {
    return s === null ? null : this.str(s);
  }
  /** The first object seen under `key` (a serialization of `value`). */
  obj<T>(key: string, value: T): T {
    const known = this.#objects.get(key);
    if (known !== undefined) return known as T;
    this.#objects.set(key, value);
    return value;
  }
  /** An exact-length copy (a pushed-to array keeps room for 17) of shared strings. */
  list(values: string[]): string[] {
    if (values.length === 0) return this.obj("[]", values);
    return values.map((v) => this.str(v));
  }
}

/** Equal keys ⇔ equal values: every part is length-prefixed, null spelled apart. */
function headersKey(h: ClassificationHeaders): string {
  const f = (v: string | null): string => (v === null ? "-" : `${v.length}:${v}`);
  const ct = h.contentType;
  const pb = Object.keys(h.patchbench).length === 0 ? "" : JSON.stringify(h.patchbench);
  const ar = h.authenticationResults.length === 0 ? "" : JSON.stringify(h.authenticationResults);
  return `${f(ct.mimeType)}${f(ct.charset)}${ct.flowed}${ct.delsp}${f(ct.boundary)}${f(h.contentTransferEncoding)}${f(h.mailingList)}${f(h.originalMessageId)}${f(pb)}${f(ar)}`;
}

function share(head: Head, pool: SharePool): Head {
  const h = head.headers;
  const headers: ClassificationHeaders = {
    patchbench: h.patchbench,
    authenticationResults: pool.list(h.authenticationResults),
    mailingList: pool.strOrNull(h.mailingList),
    contentType: h.contentType,
    contentTransferEncoding: pool.strOrNull(h.contentTransferEncoding),
    originalMessageId: pool.strOrNull(h.originalMessageId),
  };
  const inReplyToAll = pool.list(head.inReplyToAll);
  return {
    messageId: pool.strOrNull(head.messageId),
    inReplyTo: inReplyToAll[0] ?? null,
    inReplyToAll,
    references: pool.list(head.references),
    subject: pool.str(head.subject),
    from: pool.obj(`${head.from.name}\0${head.from.email}`, head.from),
    date: head.date,
    time: head.time,
    listId: pool.strOrNull(head.listId),
    headers: pool.obj(headersKey(headers), headers),
    problems: head.problems.length === 0 ? pool.obj("problems:[]", head.problems) : head.problems,
    raw: head.raw,
  };
}

interface HeaderScan {
  /** Offset of the first body byte (raw.length when there is no body). */
  bodyStart: number;
  /** Lower-cased name → unfolded values in order. Only interesting headers are kept. */
  values: Map<string, string[]>;
  patchbench: Record<string, string>;
  headerCount: number;
}

const KEEP = new Set([
  "message-id",
  "in-reply-to",
  "references",
  "subject",
  "from",
  "date",
  "list-id",
  "x-mailing-list",
  "authentication-results",
  "content-type",
  "content-transfer-encoding",
  "x-microsoft-original-message-id",
]);

/** Index of the empty line ending the header block: returns [endOfHeaders, bodyStart]. */
export function findHeaderEnd(raw: Uint8Array): [number, number] {
  const len = raw.length;
  // A message that starts with an empty line has no headers.
  if (len > 0 && raw[0] === 10) return [0, 1];
  if (len > 1 && raw[0] === 13 && raw[1] === 10) return [0, 2];
  let i = 0;
  while (i < len) {
    const nl = raw.indexOf(10, i);
    if (nl < 0) return [len, len];
    const next = nl + 1;
    if (next < len && raw[next] === 10) return [nl + 1, next + 1];
    if (next + 1 < len && raw[next] === 13 && raw[next + 1] === 10) return [nl + 1, next + 2];
    i = next;
  }
  return [len, len];
}

function toBuffer(raw: Uint8Array): Buffer {
  return Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
}

/**
 * Walks the header block as bytes and decodes only the values we keep: a string
 * sliced from one big header string would pin the whole block (Received, ARC,
 * DKIM… ~4 KB a mail) in memory for as long as the message lives.
 */
function scanHeaders(raw: Uint8Array): HeaderScan {
  const [end, bodyStart] = findHeaderEnd(raw);
  const buf = toBuffer(raw);
  const values = new Map<string, string[]>();
  const patchbench: Record<string, string> = {};
  let headerCount = 0;
  let name: string | null = null;
  let spans: number[] = [];
  const flush = (): void => {
    if (name === null) return;
    let v = "";
    for (let i = 0; i < spans.length; i += 2) {
      const seg = buf.subarray(spans[i], spans[i + 1]);
      // Raw 8-bit headers are usually UTF-8; when they are not, Latin-1 keeps every byte.
      v += isUtf8(seg) ? seg.toString("utf8") : seg.toString("latin1");
    }
    v = v.trim();
    if (name.startsWith("x-patchbench-")) patchbench[name] = v;
    else {
      const list = values.get(name);
      if (list) list.push(v);
      else values.set(name, [v]);
    }
    name = null;
    spans = [];
  };
  let pos = 0;
  let current = false;
  while (pos < end) {
    let eol = buf.indexOf(10, pos);
    if (eol < 0 || eol > end) eol = end;
    let lineEnd = eol;
    if (lineEnd > pos && buf[lineEnd - 1] === 13) lineEnd--;
    const c = buf[pos];
    if (c === 32 || c === 9) {
      // Folded continuation (RFC 5322 2.2.3): unfold by dropping the line break.
      if (current) spans.push(pos, lineEnd);
      pos = eol + 1;
      continue;
    }
    flush();
    current = false;
    const colon = buf.indexOf(58, pos);
    if (colon > pos && colon < lineEnd && colon - pos <= 76) {
      let nameEnd = colon;
      while (nameEnd > pos && (buf[nameEnd - 1] === 32 || buf[nameEnd - 1] === 9)) nameEnd--;
      let ok = nameEnd > pos;
      for (let i = pos; i < nameEnd && ok; i++) {
        const b = buf[i] as number;
        ok = b >= 0x21 && b <= 0x7e;
      }
      if (ok) {
        headerCount++;
        const n = buf.toString("latin1", pos, nameEnd).toLowerCase();
        if (KEEP.has(n) || n.startsWith("x-patchbench-")) {
          name = n;
          current = true;
          spans.push(colon + 1, lineEnd);
        }
      }
    }
    pos = eol + 1;
  }
  flush();
  return { bodyStart, values, patchbench, headerCount };
}

function first(scan: HeaderScan, name: string): string | null {
  const v = scan.values.get(name);
  return v?.[0] ?? null;
}

const ID_TOKEN = /<([^<>\s]+)>/g;

/** All `<id>` tokens of a header value, without brackets. */
export function extractIds(value: string | null): string[] {
  if (value === null) return [];
  const out: string[] = [];
  for (const m of value.matchAll(ID_TOKEN)) {
    const id = cleanId(m[1] ?? "");
    if (id !== "") out.push(id);
  }
  return out;
}

function cleanId(id: string): string {
  return id.trim().replace(/^<|>$/g, "");
}

/** The Message-ID value: the first `<…>` token, else the bare token. */
export function extractMessageId(value: string | null): string | null {
  if (value === null) return null;
  const ids = extractIds(value);
  if (ids[0] !== undefined) return ids[0];
  const bare = value.trim().split(/\s+/)[0] ?? "";
  const cleaned = cleanId(bare);
  return cleaned.length > 0 ? cleaned : null;
}

function decodeHeader(value: string): string {
  if (!value.includes("=?")) return value;
  try {
    return decodeWords(value);
  } catch {
    return value;
  }
}

export function parseAddress(value: string | null): MailAddress {
  if (value === null) return { name: "", email: "" };
  const v = value.trim();
  const angle = /^(.*?)<([^<>]*)>\s*(?:\(.*\))?\s*$/.exec(v);
  if (angle) {
    const name = unquote(decodeHeader((angle[1] ?? "").trim()));
    return { name, email: (angle[2] ?? "").trim() };
  }
  const paren = /^(\S+@\S+)\s*\((.*)\)\s*$/.exec(v);
  if (paren) return { name: unquote(decodeHeader((paren[2] ?? "").trim())), email: paren[1] ?? "" };
  const bare = /\S+@\S+/.exec(v);
  if (bare) return { name: "", email: bare[0] };
  return { name: unquote(decodeHeader(v)), email: "" };
}

function unquote(s: string): string {
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) return s.slice(1, -1).replace(/\\(.)/g, "$1").trim();
  return s.replace(/\s+/g, " ");
}

export function parseDate(value: string | null): number | null {
  if (value === null || value === "") return null;
  let t = Date.parse(value);
  if (Number.isNaN(t)) {
    // Drop comments and a bad weekday, then try again.
    t = Date.parse(
      value
        .replace(/\([^)]*\)/g, " ")
        .replace(/^\s*[A-Za-z]+,?\s*/, "")
        .trim(),
    );
  }
  if (Number.isNaN(t)) return null;
  // Years far outside mail history are garbage, not dates.
  if (t < Date.UTC(1970, 0, 1) || t > Date.UTC(2200, 0, 1)) return null;
  return t;
}

export function parseContentType(value: string | null): ContentType {
  const ct: ContentType = { mimeType: "text/plain", charset: null, flowed: false, delsp: false, boundary: null };
  if (value === null) return ct;
  const parts = value.split(";");
  const mime = (parts[0] ?? "").trim().toLowerCase();
  if (/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(mime)) ct.mimeType = mime;
  for (const p of parts.slice(1)) {
    const eq = p.indexOf("=");
    if (eq < 0) continue;
    const key = p.slice(0, eq).trim().toLowerCase();
    const val = p
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, "$1");
    if (key === "charset") ct.charset = val.toLowerCase();
    else if (key === "format") ct.flowed = val.toLowerCase() === "flowed";
    else if (key === "delsp") ct.delsp = val.toLowerCase() === "yes";
    else if (key === "boundary") ct.boundary = val;
  }
  return ct;
}

/** Quoted-printable (RFC 2045 6.7) to bytes. */
export function decodeQuotedPrintable(input: Buffer): Buffer {
  const out = Buffer.allocUnsafe(input.length);
  let o = 0;
  const n = input.length;
  for (let i = 0; i < n; i++) {
    const c = input[i] as number;
    if (c !== 61 /* = */) {
      out[o++] = c;
      continue;
    }
    const a = input[i + 1];
    const b = input[i + 2];
    if (a === 10) {
      i += 1; // soft line break
      continue;
    }
    if (a === 13 && b === 10) {
      i += 2;
      continue;
    }
    const hi = a === undefined ? -1 : hexValue(a);
    const lo = b === undefined ? -1 : hexValue(b);
    if (hi >= 0 && lo >= 0) {
      out[o++] = hi * 16 + lo;
      i += 2;
    } else {
      // Trailing whitespace before a soft break, or a stray '=': keep it.
      let j = i + 1;
      while (j < n && (input[j] === 32 || input[j] === 9)) j++;
      if (input[j] === 10 || (input[j] === 13 && input[j + 1] === 10)) {
        i = input[j] === 10 ? j : j + 1;
        continue;
      }
      out[o++] = c;
    }
  }
  return out.subarray(0, o);
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

const UTF8_LABELS = new Set(["utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968", "7bit", "8bit", ""]);

/** Bytes in a declared charset → string; unknown charsets fall back to UTF-8 and report it. */
export function decodeCharset(bytes: Buffer, charset: string | null, problems: string[]): string {
  const cs = (charset ?? "").trim().toLowerCase();
  if (UTF8_LABELS.has(cs)) return bytes.toString("utf8");
  try {
    return new TextDecoder(cs).decode(bytes);
  } catch {
    problems.push(`unknown charset "${cs}"`);
    return isUtf8(bytes) ? bytes.toString("utf8") : bytes.toString("latin1");
  }
}

function decodeSinglePart(body: Buffer, ct: ContentType, cte: string | null, problems: string[]): string {
  const enc = (cte ?? "").trim().toLowerCase();
  let bytes: Buffer = body;
  if (enc === "quoted-printable") {
    bytes = decodeQuotedPrintable(body);
  } else if (enc === "base64") {
    const text = body.toString("latin1");
    if (/[^A-Za-z0-9+/=\s]/.test(text)) problems.push("invalid base64 body");
    bytes = Buffer.from(text.replace(/[^A-Za-z0-9+/]/g, ""), "base64");
  } else if (enc !== "" && enc !== "7bit" && enc !== "8bit" && enc !== "binary") {
    problems.push(`unknown Content-Transfer-Encoding "${enc}"`);
  }
  return decodeCharset(bytes, ct.charset, problems);
}

/** A multipart body: the direct decoder for plain shapes, postal-mime for everything else. */
async function decodeMime(raw: Uint8Array, bodyStart: number, ct: ContentType, problems: string[]): Promise<{ text: string; htmlOnly: boolean }> {
  if (ct.mimeType === "multipart/mixed" || ct.mimeType === "multipart/alternative") {
    const simple = decodeSimpleMultipart(raw, bodyStart);
    if (simple !== null) return simple;
  }
  return await decodeMimeByPostalMime(raw, problems);
}

/** postal-mime's reading of a MIME body (exported for the equivalence test of decodeSimpleMultipart). */
export async function decodeMimeByPostalMime(raw: Uint8Array, problems: string[]): Promise<{ text: string; htmlOnly: boolean }> {
  try {
    const email = await PostalMime.parse(raw, { attachmentEncoding: "arraybuffer", maxNestingDepth: 32 });
    let text = email.text ?? "";
    // Patches sent as text attachments (text/x-patch, text/x-diff, text/plain):
    // git mailinfo reads those parts too, so the body includes them.
    for (const a of email.attachments) {
      if (!a.mimeType.startsWith("text/") || a.mimeType === "text/html") continue;
      const content = a.content;
      const part =
        typeof content === "string" ? content : new TextDecoder("utf-8").decode(content as ArrayBuffer | Uint8Array);
      text += `${text.endsWith("\n") || text === "" ? "" : "\n"}${part}`;
    }
    const htmlOnly = text.trim() === "" && (email.html ?? "").trim() !== "";
    return { text, htmlOnly };
  } catch (err) {
    problems.push(`MIME decoding failed: ${err instanceof Error ? err.message : String(err)}`);
    return { text: "", htmlOnly: false };
  }
}

function isMime(ct: ContentType): boolean {
  return ct.mimeType.startsWith("multipart/") || ct.mimeType.startsWith("message/");
}

/** Header fields only; the synchronous part of parseMessage. */
export function parseMessageHeaders(raw: Uint8Array): Omit<ParsedMessage, "body" | "htmlOnly"> & { bodyStart: number } {
  const scan = scanHeaders(raw);
  const problems: string[] = [];
  if (scan.headerCount === 0) problems.push("no RFC 5322 header block");
  const messageIdValues = scan.values.get("message-id") ?? [];
  const messageId = extractMessageId(messageIdValues[0] ?? null);
  // Deduplicated through a Set, in order: a hostile References header may carry tens of thousands of ids.
  const inReplyToAll = [...new Set((scan.values.get("in-reply-to") ?? []).flatMap(extractIds))];
  const references = [...new Set((scan.values.get("references") ?? []).flatMap(extractIds))];
  const subject = decodeHeader(first(scan, "subject") ?? "")
    .replace(/\s+/g, " ")
    .trim();
  const time = parseDate(first(scan, "date"));
  const contentType = parseContentType(first(scan, "content-type"));
  return {
    messageId,
    inReplyTo: inReplyToAll[0] ?? null,
    inReplyToAll,
    references,
    subject,
    from: parseAddress(first(scan, "from")),
    date: time === null ? null : new Date(time).toISOString(),
    time,
    listId: extractIds(first(scan, "list-id"))[0] ?? first(scan, "list-id"),
    headers: {
      patchbench: scan.patchbench,
      authenticationResults: scan.values.get("authentication-results") ?? [],
      mailingList: first(scan, "x-mailing-list"),
      contentType,
      contentTransferEncoding: first(scan, "content-transfer-encoding"),
      originalMessageId: extractMessageId(first(scan, "x-microsoft-original-message-id")),
    },
    problems,
    raw,
    bodyStart: scan.bodyStart,
  };
}

type Head = Omit<ParsedMessage, "body" | "htmlOnly">;

/**
 * A parsed mail whose plain 7bit/8bit UTF-8 body is decoded from the raw bytes on
 * each read instead of being stored: with 50,000 mails in memory the stored text
 * would double the footprint (the raw bytes must stay anyway, for git am).
 */
class LazyBodyMessage implements ParsedMessage {
  readonly messageId: string | null;
  readonly inReplyTo: string | null;
  readonly inReplyToAll: string[];
  readonly references: string[];
  readonly subject: string;
  readonly from: MailAddress;
  readonly date: string | null;
  readonly time: number | null;
  readonly listId: string | null;
  readonly headers: ClassificationHeaders;
  readonly problems: string[];
  readonly htmlOnly: boolean;
  #raw: Uint8Array | (() => Uint8Array);
  readonly #load: (() => Uint8Array) | undefined;
  readonly #bodyStart: number;
  readonly #decoded: string | null;
  /** The body decoded while the bytes are in hand (loader messages only, until release). */
  #held: string | null = null;

  constructor(head: Head, bodyStart: number, decoded: string | null, htmlOnly: boolean, loadRaw?: () => Uint8Array) {
    this.messageId = head.messageId;
    this.inReplyTo = head.inReplyTo;
    this.inReplyToAll = head.inReplyToAll;
    this.references = head.references;
    this.subject = head.subject;
    this.from = head.from;
    this.date = head.date;
    this.time = head.time;
    this.listId = head.listId;
    this.headers = head.headers;
    this.problems = head.problems;
    // With a loader the bytes in hand are kept until releaseRaw(): classification reads them once for free.
    this.#raw = head.raw;
    this.#load = loadRaw;
    this.htmlOnly = htmlOnly;
    this.#bodyStart = bodyStart;
    this.#decoded = decoded;
  }

  /** Drop the bytes in hand; later reads go through the loader. */
  release(): void {
    if (this.#load) this.#raw = this.#load;
    this.#held = null;
  }

  get raw(): Uint8Array {
    const r = this.#raw;
    return typeof r === "function" ? r() : r;
  }

  get body(): string {
    if (this.#decoded !== null) return this.#decoded;
    if (this.#held !== null) return this.#held;
    const r = this.#raw;
    if (typeof r === "function") return toBuffer(r()).toString("utf8", this.#bodyStart);
    const body = toBuffer(r).toString("utf8", this.#bodyStart);
    // Classification and the grouping facts read it in turn before release().
    if (this.#load) this.#held = body;
    return body;
  }

  toJSON(): Omit<ParsedMessage, "raw"> & { rawBytes: number } {
    const { raw: _raw, ...rest } = { ...this, body: this.body };
    return { ...rest, rawBytes: this.raw.length };
  }
}

/** For messages parsed with `loadRaw`: stop holding the bytes (reads load them again). */
export function releaseRaw(msg: ParsedMessage): void {
  if (msg instanceof LazyBodyMessage) msg.release();
}

/** Raw bytes → ParsedMessage. Never throws for bad data: problems are listed instead. */
export async function parseMessage(raw: Uint8Array, options: ParseMessageOptions = {}): Promise<ParsedMessage> {
  const { bodyStart, ...head } = parseMessageHeaders(raw);
  const load = options.loadRaw;
  const pool = options.pool;
  // Problems are all added before the message is built, so sharing happens there.
  const build = (start: number, decoded: string | null, htmlOnly: boolean): ParsedMessage =>
    new LazyBodyMessage(pool ? share(head, pool) : head, start, decoded, htmlOnly, load);
  if (options.headersOnly) return build(raw.length, "", false);
  const ct = head.headers.contentType;
  if (isMime(ct)) {
    const mime = await decodeMime(raw, bodyStart, ct, head.problems);
    return build(bodyStart, mime.text, mime.htmlOnly);
  }
  if (ct.mimeType === "text/html") return build(bodyStart, "", true);
  if (!ct.mimeType.startsWith("text/") && ct.mimeType !== "application/octet-stream") {
    return build(bodyStart, "", false);
  }
  const cte = (head.headers.contentTransferEncoding ?? "").trim().toLowerCase();
  const plain = cte === "" || cte === "7bit" || cte === "8bit" || cte === "binary";
  if (plain && UTF8_LABELS.has((ct.charset ?? "").trim())) {
    return build(bodyStart, null, false);
  }
  const body = decodeSinglePart(toBuffer(raw).subarray(bodyStart), ct, head.headers.contentTransferEncoding, head.problems);
  return build(bodyStart, body, false);
}
