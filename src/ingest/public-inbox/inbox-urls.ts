/**
 * lore's (public-inbox's) URL shapes for one list. Message-IDs come from mail
 * and are untrusted: each one is one percent-encoded path segment, so `/`,
 * `?`, `#`, `%` or `..` in an id cannot change the request's path or query.
 */
export interface InboxUrls {
  feed: string;
  manifest: string;
  raw(messageId: string): string;
  thread(messageId: string): string;
  epoch(n: number): string;
}

/** One path segment for a Message-ID (without angle brackets). */
export function encodeMessageId(messageId: string): string {
  const enc = encodeURIComponent(messageId);
  // "." and ".." are valid ids but special path segments; encodeURIComponent leaves dots alone.
  return enc === "." ? "%2E" : enc === ".." ? "%2E%2E" : enc;
}

export function inboxUrls(baseUrl: string, list: string): InboxUrls {
  const base = `${baseUrl.replace(/\/+$/, "")}/${encodeURIComponent(list)}`;
  return {
    feed: `${base}/new.atom`,
    manifest: `${base}/manifest.js.gz`,
    raw: (id) => `${base}/${encodeMessageId(id)}/raw`,
    thread: (id) => `${base}/${encodeMessageId(id)}/t.mbox.gz`,
    epoch: (n) => {
      if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`bad epoch ${n}`);
      return `${base}/${n}`;
    },
  };
}
