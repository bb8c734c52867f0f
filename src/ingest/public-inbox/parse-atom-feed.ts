/**
 * Pure: public-inbox's `new.atom` → its entries, newest first as served.
 * public-inbox writes one fixed shape (PublicInbox::WwwAtomStream): each
 * `<entry>` has `<link href="<base>/<list>/<escaped msgid>/"/>`, a `<title>`,
 * an `<updated>` (the mail's Date) and, for replies, `<thr:in-reply-to href=…>`.
 * The Message-ID is the link's last path segment, percent-decoded. Entries
 * whose link cannot be read are reported, not guessed.
 */
export interface FeedEntry {
  messageId: string;
  title: string;
  updated: string | null;
  /** Message-ID of the parent, from thr:in-reply-to. */
  inReplyTo: string | null;
}

export interface ParsedFeed {
  entries: FeedEntry[];
  problems: string[];
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

export function decodeXmlText(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (all, e: string) => {
    if (e.startsWith("#x")) return safeCodePoint(Number.parseInt(e.slice(2), 16)) ?? all;
    if (e.startsWith("#")) return safeCodePoint(Number.parseInt(e.slice(1), 10)) ?? all;
    return ENTITIES[e] ?? all;
  });
}

function safeCodePoint(n: number): string | undefined {
  return Number.isInteger(n) && n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : undefined;
}

/** The Message-ID in a public-inbox message URL (`…/<list>/<id>/`), or null. */
export function messageIdFromUrl(href: string): string | null {
  const path = href.replace(/[?#].*$/, "").replace(/\/+$/, "");
  const seg = path.slice(path.lastIndexOf("/") + 1);
  if (seg === "") return null;
  try {
    const id = decodeURIComponent(seg);
    return id.trim() === "" ? null : id;
  } catch {
    return null;
  }
}

function attr(tag: string, name: string): string | null {
  const m = new RegExp(`\\s${name}\\s*=\\s*"([^"]*)"`).exec(tag);
  return m ? decodeXmlText(m[1] ?? "") : null;
}

export function parseAtomFeed(xml: string): ParsedFeed {
  const entries: FeedEntry[] = [];
  const problems: string[] = [];
  const re = /<entry>([\s\S]*?)<\/entry>/g;
  let n = 0;
  for (let m = re.exec(xml); m !== null; m = re.exec(xml)) {
    n++;
    const body = m[1] ?? "";
    // Only the entry's own header: the content may quote anything.
    const head = body.split(/<content[\s>]/)[0] ?? body;
    const link = /<link\s[^>]*>/.exec(head);
    const href = link ? attr(link[0], "href") : null;
    const messageId = href ? messageIdFromUrl(href) : null;
    if (messageId === null) {
      problems.push(`entry ${n}: no readable message link`);
      continue;
    }
    const title = /<title>([\s\S]*?)<\/title>/.exec(head);
    const updated = /<updated>([^<]*)<\/updated>/.exec(head);
    const irt = /<thr:in-reply-to\s[^>]*>/.exec(head);
    const parentHref = irt ? attr(irt[0], "href") : null;
    entries.push({
      messageId,
      title: title ? decodeXmlText(title[1] ?? "") : "",
      updated: updated ? (updated[1] ?? "").trim() || null : null,
      inReplyTo: parentHref ? messageIdFromUrl(parentHref) : null,
    });
  }
  if (n === 0 && !/<feed[\s>]/.test(xml)) problems.push("not an Atom feed");
  return { entries, problems };
}
