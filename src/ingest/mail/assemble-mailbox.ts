import { type GroupSeriesOptions, type GroupSeriesResult, groupSeries } from "./group-series.ts";
import { type ParsedMessage, parseMessage, parseMessageHeaders } from "./parse-message.ts";

export interface AssembleMailboxOptions extends GroupSeriesOptions {
  /** Messages larger than this are quarantined unparsed. Default 16 MiB. */
  maxMessageBytes?: number;
}

export interface AssembledMailbox extends GroupSeriesResult {
  /** Message-ID → the original bytes (first copy), for `git am`. */
  raw: Map<string, Uint8Array>;
}

const HEADER_PEEK = 256 * 1024;

/**
 * Raw mails → series, replies, quarantine and the raw bytes by Message-ID: what
 * `patchbench series <path> --json` prints. Never throws for bad mail data.
 */
export async function assembleMailbox(raws: readonly Uint8Array[], options: AssembleMailboxOptions = {}): Promise<AssembledMailbox> {
  const max = options.maxMessageBytes ?? 16 * 1024 * 1024;
  const parsed: ParsedMessage[] = [];
  const early: { messageId: string | null; reason: string }[] = [];
  for (const raw of raws) {
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
      parsed.push(await parseMessage(raw));
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
  const raw = new Map<string, Uint8Array>();
  for (const m of parsed) {
    if (m.messageId !== null && wanted.has(m.messageId) && !raw.has(m.messageId)) raw.set(m.messageId, m.raw);
  }
  return { ...result, quarantined: [...early, ...result.quarantined], raw };
}
