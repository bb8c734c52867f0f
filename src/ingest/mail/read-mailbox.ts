import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { gunzipSync } from "node:zlib";
import type { Quarantined } from "./group-series.ts";
import { type MboxEntry, type MboxFormat, splitMbox } from "./split-mbox.ts";

/**
 * I/O: a path → raw messages. Accepts an mbox (mboxrd or mboxo, optionally
 * gzipped like lore's t.mbox.gz), a maildir (cur/ and new/), a single .eml, or
 * a directory of such files (searched recursively). Bad input becomes a
 * quarantine entry, never an exception (except a path that does not exist).
 */

export interface ReadMailboxOptions {
  format?: MboxFormat;
  /** Files larger than this are quarantined unread. Default 512 MiB. */
  maxFileBytes?: number;
}

export interface ReadMailboxResult {
  messages: MboxEntry[];
  quarantined: Quarantined[];
}

// `.patch`: `git format-patch` output (one mboxo message per file, in numbering order).
const MAIL_FILE = /\.(eml|mbox|mbx|mail|msg|gz|patch)$/i;

function isMaildir(dir: string): boolean {
  try {
    return statSync(join(dir, "cur")).isDirectory() && statSync(join(dir, "new")).isDirectory();
  } catch {
    return false;
  }
}

function maybeGunzip(bytes: Buffer, name: string, out: ReadMailboxResult): Buffer | null {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return gunzipSync(bytes);
    } catch (err) {
      out.quarantined.push({ messageId: null, reason: `${name}: broken gzip: ${(err as Error).message}` });
      return null;
    }
  }
  return bytes;
}

function readFile(path: string, options: ReadMailboxOptions, out: ReadMailboxResult, asSingle: boolean): void {
  const name = basename(path);
  const max = options.maxFileBytes ?? 512 * 1024 * 1024;
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    out.quarantined.push({ messageId: null, reason: `${name}: unreadable: ${(err as Error).message}` });
    return;
  }
  if (size > max) {
    out.quarantined.push({ messageId: null, reason: `${name}: file of ${size} bytes exceeds the ${max}-byte limit` });
    return;
  }
  const bytes = maybeGunzip(readFileSync(path), name, out);
  if (bytes === null) return;
  const startsWithFrom = bytes.toString("latin1", 0, 5) === "From ";
  if (asSingle && !startsWithFrom) {
    if (bytes.length === 0) out.quarantined.push({ messageId: null, reason: `${name}: empty file` });
    else out.messages.push({ raw: bytes, source: name });
    return;
  }
  const split = splitMbox(bytes, name, options.format ?? "auto");
  out.messages.push(...split.messages);
  out.quarantined.push(...split.quarantined);
}

function readMaildir(dir: string, options: ReadMailboxOptions, out: ReadMailboxResult): void {
  for (const sub of ["cur", "new"]) {
    const d = join(dir, sub);
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isFile()) readFile(p, options, out, true);
    }
  }
}

function readDirectory(dir: string, options: ReadMailboxOptions, out: ReadMailboxResult): void {
  if (isMaildir(dir)) {
    readMaildir(dir, options, out);
    return;
  }
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    const st = statSync(p);
    if (st.isDirectory()) readDirectory(p, options, out);
    else if (st.isFile() && MAIL_FILE.test(f)) readFile(p, options, out, /\.(eml|msg|mail)$/i.test(f));
  }
}

export function readMailbox(path: string, options: ReadMailboxOptions = {}): ReadMailboxResult {
  const out: ReadMailboxResult = { messages: [], quarantined: [] };
  const st = statSync(path);
  if (st.isDirectory()) readDirectory(path, options, out);
  else readFile(path, options, out, /\.(eml|msg|mail)$/i.test(path));
  return out;
}
