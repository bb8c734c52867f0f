import type { Trailer } from "./extract-trailers.ts";
import type { MailAddress } from "./parse-message.ts";
import { parseTrailerAddress } from "./parse-trailer-address.ts";

export type Attribution = { attributed: true } | { attributed: false; reason: string };

/** b4's utility trailers: they name no person, so any sender may give them. */
const UTILITY = new Set(["fixes", "link", "buglink", "obsoleted-by", "message-id", "change-id", "base-commit"]);

export function isPersonTrailer(t: Pick<Trailer, "name" | "value">): boolean {
  return !UTILITY.has(t.name.toLowerCase()) && !t.value.includes("://") && /\S+@\S+\.\S+/.test(t.value);
}

/** b4's LoreTrailer.email_eq with fuzzy matching. */
export function sameAddress(a: string, b: string): boolean {
  let x = a.toLowerCase();
  let y = b.toLowerCase();
  if (x === y) return true;
  if (!x.includes("@") || !y.includes("@")) return false;
  x = x.replace(/\+[^@]+@/, "@");
  y = y.replace(/\+[^@]+@/, "@");
  if (x === y) return true;
  const [xl, xd = ""] = x.split(/@(.*)/s);
  const [yl, yd = ""] = y.split(/@(.*)/s);
  if (xl !== yl) return false;
  const dots = (d: string): number => d.split(".").length - 1;
  return Math.abs(dots(xd) - dots(yd)) === 1 && (xd.endsWith(`.${yd}`) || yd.endsWith(`.${xd}`));
}

function sameName(trailerName: string, senderName: string): boolean {
  const t = trailerName.trim().toLowerCase();
  const h = senderName.trim().toLowerCase();
  if (t === "" || h === "") return false;
  if (t === h) return true;
  if (h.indexOf(",") <= 0) return false;
  return h.split(",").every((part) => t.includes(part.trim()));
}

/**
 * Whether a follow-up trailer (a `Reviewed-by:` sent as a reply) may be
 * attached: b4's rule (LoreMessage.get_trailers), so a reply cannot hand out
 * someone else's review. A trailer naming a person counts when
 *   - its address is the sender's (case-insensitive; a `+tag` in the local
 *     part and one subdomain level, foo@intel.com vs foo@linux.intel.com, are
 *     the same), or
 *   - its name is the sender's name (case-insensitive; someone reviewing from
 *     another account), or
 *   - the sender's name is "Last, First" and each part is in the trailer's name.
 * The address is read as b4 reads it (parseTrailerAddress): an unquoted `,`
 * or `[` in the name leaves no address, so `Name [corp] <a@b>` does not count
 * even from a@b. Where b4 is looser by accident we are not: an empty name
 * never matches an empty name; b4's comma test accepts any trailer from a
 * sender whose name has a comma; and b4 attaches, unchecked, the trailers of
 * the replies it climbs through from a reply to its patch, so answering a
 * refused trailer with any trailer of one's own would get it attached.
 */
export function attributeTrailer(t: Pick<Trailer, "name" | "value">, sender: MailAddress): Attribution {
  if (!isPersonTrailer(t)) return { attributed: true };
  const named = parseTrailerAddress(t.value);
  if (sameAddress(named.address, sender.email) || sameName(named.name, sender.name)) return { attributed: true };
  const from = sender.email === "" ? "(no address)" : sender.email;
  if (named.problem !== undefined || !named.address.includes("@")) {
    return { attributed: false, reason: `sender ${from}, but the trailer's address cannot be read: ${named.problem ?? "no address"}` };
  }
  return { attributed: false, reason: `sender ${from} is not ${named.address}` };
}
