import type { Quarantined } from "./group-series.ts";

/**
 * Split an mbox (mboxrd as lore's `t.mbox.gz`/`/raw` serve it, or mboxo) into
 * raw messages. Pure. A message is the bytes between a `From ` separator line
 * and the empty line before the next separator; in mboxrd `>From ` lines are
 * unquoted (`>>From ` → `>From `), in mboxo they are left alone (ambiguous
 * there). A file without a leading `From ` line but with headers is one message.
 */

export type MboxFormat = "mboxrd" | "mboxo" | "auto";

export interface MboxEntry {
  raw: Uint8Array;
  /** Where it came from, e.g. `file.mbox#3` (1-based). */
  source: string;
  /** Its bytes in the input, before mboxrd unquoting (so a reader can load it again by offset). */
  span?: { start: number; end: number; unquote: boolean };
}

export interface SplitMboxResult {
  messages: MboxEntry[];
  quarantined: Quarantined[];
  format: "mboxrd" | "mboxo";
}

// Like git's is_from_line(): `From <sender> <date with a hh:mm time>`, so prose
// starting with "From " in an mboxo body is not taken for a separator.
export const FROM_LINE = /^From \S+ +.*\b\d{1,2}:\d{2}(:\d{2})?\b/;

function lineAt(buf: Buffer, start: number): { line: string; next: number } {
  let end = buf.indexOf(10, start);
  if (end < 0) end = buf.length;
  const limit = Math.min(end, start + 512);
  return { line: buf.toString("latin1", start, limit).replace(/\r$/, ""), next: end + 1 };
}

/** Looks like an RFC 5322 header line (`Name: value`). */
function looksLikeHeader(line: string): boolean {
  return /^[\x21-\x39\x3b-\x7e]+:/.test(line);
}

export function unquoteMboxrd(chunk: Buffer): Buffer {
  // Only lines matching ^>+From  lose one '>'.
  if (chunk.indexOf(">From ") < 0) return chunk;
  const parts: Buffer[] = [];
  let pos = 0;
  let last = 0;
  while (pos < chunk.length) {
    let end = chunk.indexOf(10, pos);
    if (end < 0) end = chunk.length;
    if (chunk[pos] === 62) {
      let q = pos;
      while (q < end && chunk[q] === 62) q++;
      if (chunk.toString("latin1", q, Math.min(q + 5, end)) === "From ") {
        parts.push(chunk.subarray(last, pos));
        last = pos + 1;
      }
    }
    pos = end + 1;
  }
  parts.push(chunk.subarray(last));
  return Buffer.concat(parts);
}

/**
 * `spansOnly` (for indexMboxFile): entries' `raw` are the quoted bytes (views
 * into `bytes`, no unquoted copies); `span` says whether loading must unquote.
 */
export function splitMbox(
  bytes: Uint8Array,
  name = "mbox",
  format: MboxFormat = "auto",
  options: { spansOnly?: boolean } = {},
): SplitMboxResult {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const messages: MboxEntry[] = [];
  const quarantined: Quarantined[] = [];
  const first = lineAt(buf, 0).line;
  let fmt: "mboxrd" | "mboxo" = format === "auto" ? (first.startsWith("From mboxrd@") ? "mboxrd" : "mboxo") : format;
  if (format === "auto" && fmt === "mboxo" && buf.indexOf("\n>>From ") >= 0) fmt = "mboxrd";

  // Separator positions: start of a `From ` line at the file start or after an empty line.
  const starts: number[] = [];
  let pos = 0;
  let prevEmpty = true;
  while (pos < buf.length) {
    let end = buf.indexOf(10, pos);
    if (end < 0) end = buf.length;
    if (prevEmpty && buf[pos] === 70 /* F */) {
      const { line } = lineAt(buf, pos);
      if (line.startsWith("From ")) {
        if (FROM_LINE.test(line)) starts.push(pos);
        else if (pos === 0) {
          // The file's first line can only be a separator: keep the message, note the damage.
          starts.push(pos);
          quarantined.push({
            messageId: null,
            reason: `${name}: malformed mbox "From " line at byte 0 (message kept): ${JSON.stringify(line.slice(0, 80))}`,
          });
        } else if (fmt === "mboxrd")
          // mboxrd quotes every body `From ` line, so this one is broken.
          quarantined.push({
            messageId: null,
            reason: `${name}: malformed mbox "From " line at byte ${pos}: ${JSON.stringify(line.slice(0, 80))}`,
          });
      }
    }
    prevEmpty = end === pos || (end === pos + 1 && buf[pos] === 13);
    pos = end + 1;
  }

  const emit = (from: number, to: number, n: number): void => {
    // Drop the empty line that separates messages (it belongs to the mbox, not the mail).
    let end = to;
    if (end - from >= 2 && buf[end - 1] === 10 && buf[end - 2] === 10) end -= 1;
    else if (end - from >= 4 && buf[end - 1] === 10 && buf[end - 2] === 13 && buf[end - 3] === 10) end -= 2;
    const quoted = buf.subarray(from, end);
    // Unquoting only drops a '>' before "From ", so a quoted message is empty
    // (or blank in its first 64 bytes) exactly when its unquoted form is.
    if (quoted.length === 0 || quoted.toString("latin1", 0, Math.min(quoted.length, 64)).trim() === "") {
      quarantined.push({ messageId: null, reason: `${name}#${n}: empty message` });
      return;
    }
    if (options.spansOnly) {
      // unquoteMboxrd copies exactly when the bytes hold ">From ".
      const unquote = fmt === "mboxrd" && quoted.indexOf(">From ") >= 0;
      messages.push({ raw: quoted, source: "", span: { start: from, end, unquote } });
      return;
    }
    const chunk = fmt === "mboxrd" ? unquoteMboxrd(quoted) : quoted;
    messages.push({ raw: chunk, source: `${name}#${n}`, span: { start: from, end, unquote: chunk !== quoted } });
  };

  const head = starts[0] ?? buf.length;
  if (head > 0) {
    const lead = buf.subarray(0, head);
    if (looksLikeHeader(lineAt(lead, 0).line)) emit(0, head, 0);
    else if (lead.toString("latin1").trim() !== "")
      quarantined.push({ messageId: null, reason: `${name}: ${head} bytes before the first "From " line are not a mail` });
  }
  starts.forEach((s, i) => {
    const body = lineAt(buf, s).next;
    emit(Math.min(body, buf.length), starts[i + 1] ?? buf.length, i + 1);
  });
  return { messages, quarantined, format: fmt };
}
