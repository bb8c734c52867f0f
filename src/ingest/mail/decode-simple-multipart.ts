import { TextDecoder } from "node:util";

/**
 * The body text of a plain multipart mail (multipart/mixed or /alternative of text/plain,
 * text/html and attachments, in 7bit/8bit/quoted-printable), decoded directly from the bytes, or
 * null: anything else goes to postal-mime.
 *
 * Why: postal-mime copies every part through a Blob (Blob.arrayBuffer is slow on Node 20), which
 * cost about 0.5 ms per multipart mail — 7% of the mails, 14% of the ingest time in the
 * benchmark. The rules here are postal-mime's own (postal-mime.ts processLine/collectNode/
 * renderTextContent, mime-node.ts, qp-decoder.ts, pass-through-decoder.ts), for the subset they
 * cover; whatever is outside it — nested messages, multipart/related or /signed, base64 text,
 * format=flowed, RFC 2231 or commented header parameters, an HTML part with no plain-text
 * alternative — returns null. decode-simple-multipart.test.ts checks, on every fixture mail and
 * thousands of mutations of them, that a non-null answer equals postal-mime's.
 */

export interface SimpleMultipartText {
  /** postal-mime's `email.text`, then the text/* attachments (not HTML), as decodeMime joins them. */
  text: string;
  htmlOnly: false;
}

interface PartHead {
  type: string;
  params: Map<string, string>;
  encoding: string;
  attachment: boolean;
}

interface Node {
  head: PartHead | null;
  headerLines: string[];
  /** Body lines of a leaf (views of the raw bytes); null for a multipart node. */
  body: Uint8Array[] | null;
  done: boolean;
  /** Nearest multipart/alternative ancestor or self-selected: where text entries are filed. */
  selector: Node | null;
  parent: Node | null;
  children: Node[];
  boundary: Buffer | null;
}

const MAX_DEPTH = 8;
const MAX_HEADER_BYTES = 64 * 1024;
const SAFE_BOUNDARY = /^[A-Za-z0-9'()+_,\-./:=? ]{1,70}$/;
/** Comments, escapes, RFC 2231 parameters, encoded words or 8-bit bytes: postal-mime's job. */
const WEIRD_VALUE = /[()\\]|\*=|=\?|[^\x00-\x7f]/;

/** `type/subtype; a=b; c="d"` → parts; null when the value is outside the simple grammar. */
function parseStructured(value: string): { type: string; params: Map<string, string> } | null {
  if (WEIRD_VALUE.test(value)) return null;
  const parts: string[] = [];
  let cur = "";
  let quoted = false;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    if (ch === ";" && !quoted) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  if (quoted) return null;
  parts.push(cur);
  const type = (parts.shift() ?? "").trim().toLowerCase();
  const params = new Map<string, string>();
  for (const p of parts) {
    const t = p.trim();
    if (t === "") continue;
    const eq = t.indexOf("=");
    if (eq <= 0) return null;
    const key = t.slice(0, eq).trim().toLowerCase();
    let v = t.slice(eq + 1).trim();
    if (v.startsWith('"')) {
      if (!v.endsWith('"') || v.length < 2) return null;
      v = v.slice(1, -1);
    } else if (/\s/.test(v)) return null;
    if (params.has(key)) return null;
    params.set(key, v);
  }
  return { type, params };
}

/** Content headers of a part (first occurrence of each, as postal-mime takes them); null: not simple. */
function parseHead(lines: readonly string[], topType: string | null): PartHead | null {
  const folded: string[] = [];
  for (const l of lines) {
    if ((l.startsWith(" ") || l.startsWith("\t")) && folded.length > 0) folded[folded.length - 1] += `\n${l}`;
    else folded.push(l);
  }
  let ct: string | null = null;
  let cte: string | null = null;
  let cd: string | null = null;
  for (const f of folded) {
    const sep = f.indexOf(":");
    if (sep < 0) continue;
    const key = f.slice(0, sep).trim().toLowerCase();
    const value = f.slice(sep + 1).replace(/\r?\n/g, "").trim();
    if (key === "content-type") ct ??= value;
    else if (key === "content-transfer-encoding") cte ??= value;
    else if (key === "content-disposition") cd ??= value;
  }
  const parsedType = parseStructured(ct ?? topType ?? "text/plain");
  if (parsedType === null) return null;
  let attachment = false;
  if (cd !== null) {
    const d = parseStructured(cd);
    if (d === null) return null;
    attachment = d.type === "attachment";
  }
  if (cte !== null && WEIRD_VALUE.test(cte)) return null;
  const encoding = (cte ?? "").toLowerCase().match(/[\w-]+/)?.[0] ?? "";
  if (parsedType.type === "") return null;
  return { type: parsedType.type, params: parsedType.params, encoding, attachment };
}

function decodeQp(lines: readonly Uint8Array[]): Buffer {
  const out: number[] = [];
  const hex = (c: number | undefined): number =>
    c === undefined ? -1 : c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
  for (const line of lines) {
    let len = line.length;
    const soft = len > 0 && line[len - 1] === 61;
    if (soft) len--;
    for (let i = 0; i < len; i++) {
      const c = line[i] as number;
      if (c === 61 && i + 2 < len) {
        const hi = hex(line[i + 1]);
        const lo = hex(line[i + 2]);
        if (hi >= 0 && lo >= 0) {
          out.push((hi << 4) | lo);
          i += 2;
          continue;
        }
      }
      out.push(c);
    }
    if (!soft) out.push(10);
  }
  return Buffer.from(out);
}

function passThrough(lines: readonly Uint8Array[]): Buffer {
  let n = 0;
  for (const l of lines) n += l.length + 1;
  const out = Buffer.allocUnsafe(n);
  let o = 0;
  for (const l of lines) {
    out.set(l, o);
    o += l.length;
    out[o++] = 10;
  }
  return out;
}

/** The header lines of the block before `bodyStart` (trailing CRs dropped, as postal-mime reads lines). */
function headerLines(raw: Uint8Array, bodyStart: number): string[] | null {
  const lines: string[] = [];
  let pos = 0;
  while (pos < bodyStart) {
    let lf = raw.indexOf(10, pos);
    if (lf < 0 || lf >= bodyStart) lf = bodyStart;
    let end = lf;
    while (end > pos && raw[end - 1] === 13) end--;
    if (end > pos) lines.push(Buffer.from(raw.subarray(pos, end)).toString("latin1"));
    else if (lf + 1 !== bodyStart) return null; // an empty line before the end: not one header block
    pos = lf + 1;
  }
  return lines;
}

/**
 * `raw` is the whole mail; `bodyStart` the first byte after the header block (after its empty
 * line). The top-level Content-Type is read again here with the same strict rules as the parts'.
 */
export function decodeSimpleMultipart(raw: Uint8Array, bodyStart: number): SimpleMultipartText | null {
  // The header block must end in a plain empty line, as postal-mime's line reader sees it.
  if (bodyStart > MAX_HEADER_BYTES) return null; // postal-mime has its own header size limit: its call
  if (bodyStart < 2 || raw[bodyStart - 1] !== 10 || !(raw[bodyStart - 2] === 10 || (raw[bodyStart - 2] === 13 && raw[bodyStart - 3] === 10))) return null;
  const topLines = headerLines(raw, bodyStart);
  if (topLines === null) return null;
  const top = parseHead(topLines, null);
  if (top === null) return null;
  const topType = top.type;
  const boundary = top.params.get("boundary") ?? null;
  if (topType !== "multipart/mixed" && topType !== "multipart/alternative") return null;
  if (boundary === null || !SAFE_BOUNDARY.test(boundary)) return null;

  const root: Node = { head: null, headerLines: [], body: null, done: false, selector: null, parent: null, children: [], boundary: Buffer.from(boundary, "latin1") };
  root.selector = topType === "multipart/alternative" ? root : null;
  const boundaries: Node[] = [root];
  let current: Node = root;
  const leaves: Node[] = [];
  let headerBytes = 0;
  let failed = false;

  const finishHead = (node: Node): void => {
    if (node.head !== null || node === root) return;
    const head = parseHead(node.headerLines, null);
    if (head === null) {
      failed = true;
      return;
    }
    node.head = head;
    if (head.type.startsWith("multipart/")) {
      if (head.type !== "multipart/mixed" && head.type !== "multipart/alternative") {
        failed = true;
        return;
      }
      const b = head.params.get("boundary");
      if (b === undefined || !SAFE_BOUNDARY.test(b)) {
        failed = true;
        return;
      }
      node.boundary = Buffer.from(b, "latin1");
      if (head.type === "multipart/alternative") node.selector = node;
      boundaries.push(node);
    } else {
      node.body = [];
      leaves.push(node);
    }
  };
  const finishNode = (node: Node): void => {
    if (node.done) return;
    node.done = true;
    finishHead(node);
    const i = boundaries.lastIndexOf(node);
    if (i >= 0) boundaries.splice(i, 1);
    for (const c of node.children) finishNode(c);
  };

  let pos = bodyStart;
  const n = raw.length;
  while (pos < n && !failed) {
    let lf = raw.indexOf(10, pos);
    const next = lf < 0 ? n : lf + 1;
    if (lf < 0) lf = n;
    let end = lf;
    while (end > pos && raw[end - 1] === 13) end--;
    const line = raw.subarray(pos, end);
    pos = next;

    let handled = false;
    if (boundaries.length > 0 && line.length > 2 && line[0] === 45 && line[1] === 45) {
      for (let i = boundaries.length - 1; i >= 0 && !handled; i--) {
        const node = boundaries[i] as Node;
        const b = node.boundary as Buffer;
        if (line.length < b.length + 2) continue;
        let match = true;
        for (let j = 0; j < b.length && match; j++) if (line[j + 2] !== b[j]) match = false;
        if (!match) continue;
        let bEnd = b.length + 2;
        let terminator = false;
        if (line.length >= b.length + 4 && line[b.length + 2] === 45 && line[b.length + 3] === 45) {
          terminator = true;
          bEnd = b.length + 4;
        }
        let trailingOk = true;
        for (let j = bEnd; j < line.length && trailingOk; j++) if (line[j] !== 32 && line[j] !== 9) trailingOk = false;
        if (!trailingOk) continue;
        handled = true;
        if (terminator) {
          finishNode(node);
          current = node.parent ?? root;
        } else {
          for (const c of node.children) finishNode(c);
          const depth = (() => {
            let d = 0;
            for (let x: Node | null = node; x !== null; x = x.parent) d++;
            return d;
          })();
          if (depth > MAX_DEPTH) {
            failed = true;
            break;
          }
          const child: Node = { head: null, headerLines: [], body: null, done: false, selector: node.selector, parent: node, children: [], boundary: null };
          node.children.push(child);
          current = child;
        }
      }
    }
    if (handled) continue;
    // Feed the line to the current node.
    if (current !== root && current.head === null) {
      if (line.length === 0) {
        finishHead(current);
        continue;
      }
      headerBytes += line.length;
      if (headerBytes > MAX_HEADER_BYTES) return null;
      for (let k = 0; k < line.length; k++) if ((line[k] as number) >= 0x80) return null;
      current.headerLines.push(Buffer.from(line).toString("latin1"));
      continue;
    }
    if (current.body !== null) current.body.push(line);
  }
  if (failed) return null;
  finishNode(root);
  if (failed || leaves.length === 0) return null;

  // collectNode: text entries filed under their selector (in order of first use), attachments apart.
  const entries = new Map<Node, { plain: string[]; html: number }>();
  const attachmentTexts: string[] = [];
  for (const leaf of leaves) {
    const head = leaf.head as PartHead;
    if (head.type.startsWith("message/") || head.type === "text/calendar" || head.type === "application/ics") return null;
    const inlineText = !head.attachment && (head.type === "text/plain" || head.type === "text/html");
    const textual = head.type.startsWith("text/") && head.type !== "text/html";
    const lines = leaf.body ?? [];
    const decode = (): Buffer | null => {
      if (/base64/.test(head.encoding)) return null;
      return /quoted-printable/.test(head.encoding) ? decodeQp(lines) : passThrough(lines);
    };
    if (inlineText) {
      const selector = leaf.selector ?? leaf;
      let e = entries.get(selector);
      if (!e) {
        e = { plain: [], html: 0 };
        entries.set(selector, e);
      }
      if (head.type === "text/html") {
        e.html++;
        continue;
      }
      if (/^flowed$/i.test(head.params.get("format") ?? "")) return null;
      const bytes = decode();
      if (bytes === null) return null;
      let decoder: TextDecoder;
      try {
        decoder = new TextDecoder((head.params.get("charset") || "utf8").trim().toLowerCase());
      } catch {
        return null;
      }
      e.plain.push(decoder.decode(bytes));
    } else if (textual) {
      const bytes = decode();
      if (bytes === null) return null;
      attachmentTexts.push(new TextDecoder("utf-8").decode(bytes));
    }
  }
  const plain: string[] = [];
  for (const e of entries.values()) {
    // An HTML part with no plain alternative would be converted to text: postal-mime's job.
    if (e.plain.length === 0 && e.html > 0) return null;
    plain.push(...e.plain);
  }
  let text = plain.join("\n");
  for (const part of attachmentTexts) text += `${text.endsWith("\n") || text === "" ? "" : "\n"}${part}`;
  if (text.trim() === "" && [...entries.values()].some((e) => e.html > 0)) return null;
  return { text, htmlOnly: false };
}
