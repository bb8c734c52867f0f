import { createHash } from "node:crypto";
import { type GroupSeriesOptions, type GroupSeriesResult, groupSeries, noteBodyFacts } from "./group-series.ts";
import { classifyMessage } from "./classify-message.ts";
import { type ParsedMessage, SharePool, parseMessage, parseMessageHeaders, releaseRaw } from "./parse-message.ts";

export interface AssembleMailboxOptions extends GroupSeriesOptions {
  /** Messages larger than this are quarantined unparsed. Default 16 MiB. */
  maxMessageBytes?: number;
  /**
   * Give a mail without a Message-ID a synthetic one derived from its bytes
   * (syntheticMessageId) instead of quarantining it. Only for local input a
   * user hands us (`review`, `series`: `git format-patch` output without
   * `--thread`); mail from a list or source without one stays quarantined.
   */
  synthesizeMessageIds?: boolean;
}

/** The domain of synthetic Message-IDs (RFC 6761 `.invalid`: never a real host). */
export const SYNTHETIC_ID_DOMAIN = "patchbench.invalid";

/** A stable Message-ID for a mail that has none: the same bytes give the same id. */
export function syntheticMessageId(raw: Uint8Array): string {
  return `synthetic-${createHash("sha256").update(raw).digest("hex").slice(0, 24)}@${SYNTHETIC_ID_DOMAIN}`;
}

// A synthetic id is for mail a user wrote (`git format-patch` output has a
// From: and a Subject:), not for any text whose first line has a colon.
const NOT_A_MAIL = "not a mail: no From: or Subject: header";
const fromSomeone = (m: ParsedMessage): boolean => m.from.email !== "" && m.subject !== "";

export function isSyntheticMessageId(id: string): boolean {
  return id.startsWith("synthetic-") && id.endsWith(`@${SYNTHETIC_ID_DOMAIN}`);
}

export interface AssembledMailbox extends GroupSeriesResult {
  /**
   * Message-ID → the original bytes (first copy), for `git am`. With RawRef
   * inputs the bytes are loaded on each `get` (nothing is held in memory).
   */
  raw: Map<string, Uint8Array>;
}

/** A message kept outside memory (e.g. by offset in an mbox file, see indexMboxFile). */
export interface RawRef {
  size: number;
  load(): Uint8Array;
  /**
   * Optional: the bytes as a view of `into` (a scratch buffer the caller
   * reuses), or a new buffer when they do not fit. Saves one allocation per
   * message in the parse pass, where the bytes are dropped right after.
   */
  loadInto?(into: Buffer): Uint8Array;
}

/**
 * A Map whose values load on demand. Every read path of Map goes through
 * `get`/iteration here, so callers that take a Map<string, Uint8Array> work.
 */
class LoadingMap extends Map<string, Uint8Array> {
  readonly #loaders = new Map<string, () => Uint8Array>();
  setLoader(key: string, load: () => Uint8Array): void {
    this.#loaders.set(key, load);
  }
  override get(key: string): Uint8Array | undefined {
    return super.get(key) ?? this.#loaders.get(key)?.();
  }
  override has(key: string): boolean {
    return super.has(key) || this.#loaders.has(key);
  }
  override get size(): number {
    let n = this.#loaders.size;
    for (const k of super.keys()) if (!this.#loaders.has(k)) n++;
    return n;
  }
  override delete(key: string): boolean {
    const a = this.#loaders.delete(key);
    return super.delete(key) || a;
  }
  override clear(): void {
    this.#loaders.clear();
    super.clear();
  }
  override *keys(): MapIterator<string> {
    for (const k of super.keys()) if (!this.#loaders.has(k)) yield k;
    yield* this.#loaders.keys();
  }
  override *entries(): MapIterator<[string, Uint8Array]> {
    for (const k of this.keys()) yield [k, this.get(k)!];
  }
  override *values(): MapIterator<Uint8Array> {
    for (const k of this.keys()) yield this.get(k)!;
  }
  override [Symbol.iterator](): MapIterator<[string, Uint8Array]> {
    return this.entries();
  }
  override forEach(cb: (value: Uint8Array, key: string, map: Map<string, Uint8Array>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) cb.call(thisArg, v, k, this);
  }
}

const HEADER_PEEK = 256 * 1024;
const SCRATCH_BYTES = 1024 * 1024;

/**
 * Raw mails → series, replies, quarantine and the raw bytes by Message-ID: what
 * `patchbench series <path> --json` prints. Never throws for bad mail data.
 */
export async function assembleMailbox(
  raws: readonly (Uint8Array | RawRef)[],
  options: AssembleMailboxOptions = {},
): Promise<AssembledMailbox> {
  const max = options.maxMessageBytes ?? 16 * 1024 * 1024;
  const parsed: ParsedMessage[] = [];
  // loaders[i] loads parsed[i] again (null: its bytes are held); an array, not a 50,000-entry Map.
  const loaders: ((() => Uint8Array) | null)[] = [];
  const early: { messageId: string | null; reason: string }[] = [];
  // Messages kept by offset are held until grouping ends: store repeated parts once.
  const pool = new SharePool();
  let scratch: Buffer | null = null;
  for (const input of raws) {
    const ref = input instanceof Uint8Array ? null : input;
    if (ref && ref.size > max) {
      early.push({ messageId: null, reason: `message of ${ref.size} bytes exceeds the ${max}-byte limit` });
      continue;
    }
    // The scratch view lives only until releaseRaw below: everything kept is decoded (copied) out of it.
    if (ref?.loadInto && scratch === null) scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
    const raw = ref ? (ref.loadInto && scratch ? ref.loadInto(scratch) : ref.load()) : (input as Uint8Array);
    if (raw.length > max) {
      let messageId: string | null = null;
      try {
        messageId = parseMessageHeaders(raw.subarray(0, HEADER_PEEK)).messageId;
      } catch {
        messageId = null;
      }
      early.push({ messageId, reason: `message of ${raw.length} bytes exceeds the ${max}-byte limit` });
      continue;
    }
    try {
      if (ref) {
        // A bound method, not an arrow: the tsx/esbuild build names every arrow
        // function (defineProperty "name"), which gives each a ~250-byte property store.
        const load: () => Uint8Array = ref.load.bind(ref);
        const m = await parseMessage(raw, { loadRaw: load, pool });
        // Classify and note what grouping reads from the body while the bytes
        // are in hand (both memoized), then let them go.
        classifyMessage(m);
        noteBodyFacts(m);
        if (m.messageId === null && options.synthesizeMessageIds) {
          if (!fromSomeone(m)) {
            early.push({ messageId: null, reason: NOT_A_MAIL });
            continue;
          }
          m.messageId = syntheticMessageId(raw);
        }
        releaseRaw(m);
        loaders.push(load);
        parsed.push(m);
      } else {
        const m = await parseMessage(raw);
        if (m.messageId === null && options.synthesizeMessageIds) {
          if (!fromSomeone(m)) {
            early.push({ messageId: null, reason: NOT_A_MAIL });
            continue;
          }
          m.messageId = syntheticMessageId(raw);
        }
        parsed.push(m);
        loaders.push(null);
      }
    } catch (err) {
      early.push({ messageId: null, reason: `unparsable: ${err instanceof Error ? err.message : String(err)}` });
    }
  }
  let result: GroupSeriesResult;
  try {
    result = groupSeries(parsed, options);
  } catch (err) {
    // A bug, not bad data; still never take the caller down with one mail.
    return {
      series: [],
      replies: [],
      quarantined: [...early, { messageId: null, reason: `grouping failed: ${err instanceof Error ? err.message : String(err)}` }],
      states: {},
      deadlines: {},
      raw: new Map(),
    };
  }
  const wanted = new Set<string>();
  for (const s of result.series) {
    if (s.cover) wanted.add(s.cover.messageId);
    for (const p of s.patches) wanted.add(p.messageId);
  }
  for (const r of result.replies) wanted.add(r.messageId);
  const raw = new LoadingMap();
  for (let i = 0; i < parsed.length; i++) {
    const m = parsed[i] as ParsedMessage;
    if (m.messageId === null || !wanted.has(m.messageId) || raw.has(m.messageId)) continue;
    const load = loaders[i];
    if (load) raw.setLoader(m.messageId, load);
    else raw.set(m.messageId, m.raw);
  }
  // Also when not synthesizing here: a mail let in from quarantine got its synthetic id then,
  // and a report must not be mailed in reply to an id no list has.
  for (const s of result.series) {
    const ids = [...(s.cover ? [s.cover.messageId] : []), ...s.patches.map((p) => p.messageId)];
    if (ids.some(isSyntheticMessageId)) s.syntheticMessageIds = true;
  }
  return { ...result, quarantined: [...early, ...result.quarantined], raw };
}
