import { closeSync, openSync, readSync } from "node:fs";
import { basename } from "node:path";
import type { Quarantined } from "./group-series.ts";
import { FROM_LINE, type MboxFormat, splitMbox, unquoteMboxrd } from "./split-mbox.ts";

/**
 * An mbox on disk as a list of offsets, read in chunks: memory holds one chunk
 * (plus the largest message), never the whole file. Each message loads again
 * by offset when asked (`load`), so a caller keeps bytes only for the messages
 * it needs (series patches for `git am`). Same splitting rules as splitMbox
 * (windows are cut only before a real separator line); the format is detected
 * from the first chunk.
 */
export interface RawRef {
  /** Bytes in the file (before mboxrd unquoting). */
  size: number;
  source: string;
  load(): Uint8Array;
  /** The bytes as a view of `into` (the caller's scratch, reused), or a new buffer when they do not fit or need unquoting. */
  loadInto(into: Buffer): Uint8Array;
}

export interface IndexedMbox {
  refs: RawRef[];
  quarantined: Quarantined[];
  format: "mboxrd" | "mboxo";
  close(): void;
}

/** Start of the last separator line in `buf` (a `From ` line after an empty line, as splitMbox takes it), or -1. */
function lastBoundary(buf: Buffer): number {
  let end = buf.length;
  for (;;) {
    const i = buf.lastIndexOf("\nFrom ", end);
    if (i <= 0) return -1;
    const emptyBefore = buf[i - 1] === 10 || (buf[i - 1] === 13 && i >= 2 && buf[i - 2] === 10);
    if (emptyBefore) {
      let eol = buf.indexOf(10, i + 1);
      // The whole line must be in the buffer to judge it.
      if (eol < 0) eol = -1;
      if (eol > 0 && FROM_LINE.test(buf.toString("latin1", i + 1, Math.min(eol, i + 513)).replace(/\r$/, ""))) return i + 1;
    }
    end = i - 1;
    if (end < 0) return -1;
  }
}

/** Compact: 50,000 of these cost a few MB, where one closure per message cost ~25 MB. */
class FileRef implements RawRef {
  readonly #reader: (start: number, end: number, unquote: boolean, into?: Buffer) => Uint8Array;
  readonly #name: string;
  readonly #n: number;
  readonly #start: number;
  readonly #end: number;
  readonly #unquote: boolean;
  constructor(reader: (start: number, end: number, unquote: boolean, into?: Buffer) => Uint8Array, name: string, n: number, start: number, end: number, unquote: boolean) {
    this.#reader = reader;
    this.#name = name;
    this.#n = n;
    this.#start = start;
    this.#end = end;
    this.#unquote = unquote;
  }
  get size(): number {
    return this.#end - this.#start;
  }
  get source(): string {
    return `${this.#name}#${this.#n}`;
  }
  load(): Uint8Array {
    return this.#reader(this.#start, this.#end, this.#unquote);
  }
  loadInto(into: Buffer): Uint8Array {
    return this.#reader(this.#start, this.#end, this.#unquote, into);
  }
}

export function indexMboxFile(path: string, options: { format?: MboxFormat; chunkBytes?: number } = {}): IndexedMbox {
  const name = basename(path);
  const fd = openSync(path, "r");
  const chunkBytes = options.chunkBytes ?? 8 * 1024 * 1024;
  const refs: RawRef[] = [];
  const quarantined: Quarantined[] = [];
  let format: "mboxrd" | "mboxo" | null = options.format === "auto" || options.format === undefined ? null : options.format;
  const readAt = (b: Buffer, start: number): number => {
    let got = 0;
    while (got < b.length) {
      const n = readSync(fd, b, got, b.length - got, start + got);
      if (n === 0) break;
      got += n;
    }
    return got;
  };
  // Read-ahead: messages are mostly loaded in file order, a few KB each; one
  // read per window instead of one per message. Loads get their own copy, so
  // nothing a caller keeps pins the window.
  const windowBytes = Math.min(chunkBytes, 1024 * 1024);
  let window: Buffer | null = null;
  let windowAt = 0;
  let windowLen = 0;
  const load = (start: number, end: number, unquote: boolean, into?: Buffer): Uint8Array => {
    let raw: Buffer;
    const fits = into !== undefined && into.length >= end - start;
    if (end - start > windowBytes / 4) {
      const b = fits ? into.subarray(0, end - start) : Buffer.allocUnsafe(end - start);
      const got = readAt(b, start);
      raw = got === b.length ? b : b.subarray(0, got);
    } else {
      if (window === null || start < windowAt || end > windowAt + windowLen) {
        window ??= Buffer.allocUnsafe(windowBytes);
        windowAt = start;
        windowLen = readAt(window, start);
      }
      const from = start - windowAt;
      const to = Math.min(end - windowAt, windowLen);
      raw = fits ? into.subarray(0, Math.max(0, to - from)) : Buffer.allocUnsafe(Math.max(0, to - from));
      window.copy(raw, 0, from, to);
    }
    return unquote ? unquoteMboxrd(raw) : raw;
  };
  // One buffer holds the carried tail of the previous window followed by the
  // next chunk read straight after it (no concatenated copy per chunk).
  let buf = Buffer.allocUnsafe(chunkBytes * 2);
  let carryLen = 0;
  let carryAt = 0; // file offset of buf[0]
  let pos = 0;
  let n = 0;
  const emit = (window: Buffer, windowAt: number): void => {
    const split = splitMbox(window, name, format ?? "auto", { spansOnly: true });
    format ??= split.format;
    quarantined.push(...split.quarantined);
    for (const m of split.messages) {
      if (m.span) refs.push(new FileRef(load, name, ++n, windowAt + m.span.start, windowAt + m.span.end, m.span.unquote));
    }
  };
  for (;;) {
    if (buf.length - carryLen < chunkBytes) {
      const bigger = Buffer.allocUnsafe(carryLen + chunkBytes * 2);
      buf.copy(bigger, 0, 0, carryLen);
      buf = bigger;
    }
    const got = readSync(fd, buf, carryLen, chunkBytes, pos);
    if (got === 0) break;
    pos += got;
    const filled = buf.subarray(0, carryLen + got);
    const cut = lastBoundary(filled);
    if (cut < 0) {
      carryLen += got;
      continue;
    }
    emit(filled.subarray(0, cut), carryAt);
    buf.copy(buf, 0, cut, carryLen + got);
    carryLen = carryLen + got - cut;
    carryAt += cut;
  }
  if (carryLen > 0) emit(buf.subarray(0, carryLen), carryAt);
  return { refs, quarantined, format: format ?? "mboxo", close: () => closeSync(fd) };
}
