/**
 * The person a trailer value names, read the way b4 reads it: Python's
 * `email.utils.parseaddr`, an RFC 5322 mailbox parser that takes the first
 * address of a list. So `Name (Company) <a@b>` is the name "Name (Company)"
 * (a comment joins the name) at a@b, but an unquoted `,` `;` `[` `]` or `)`
 * in the name ends it: `Last, First <a@b>` reads as the address "Last", which
 * is why b4 attributes no such trailer. This is the lenient parseaddr; the
 * strict one of patched Pythons answers the same or nothing, and differs only
 * on values extractTrailers has already cleaned (junk after the `>`).
 * group-series-b4.test.ts compares the two when Python is there.
 */
export interface TrailerAddress {
  /** Display name, comments included as "(comment)"; "" when none. */
  name: string;
  /** The address as Python reads it; not an address at all (no "@") when the value is not a mailbox. */
  address: string;
  /** Set when the address could not be read: what stopped the name, e.g. `unquoted "[" in the name`. */
  problem?: string;
}

const SPECIALS = '()<>@,:;."[]';
const BLANK = " \t";

function isAtomEnd(c: string, dotEnds: boolean): boolean {
  if (c === ".") return dotEnds;
  return SPECIALS.includes(c) || BLANK.includes(c) || c === "\r" || c === "\n";
}

/** A cursor over the value; comments met on the way are collected (they become the name). */
class Reader {
  pos = 0;
  comments: string[] = [];
  constructor(readonly s: string) {}

  get c(): string {
    return this.s[this.pos] ?? "";
  }
  /** The current character (a method: TypeScript would keep a narrowed getter narrowed across moves). */
  peek(): string {
    return this.c;
  }
  get done(): boolean {
    return this.pos >= this.s.length;
  }

  /** Skip blanks and comments; the blanks skipped (line breaks dropped). */
  skip(): string {
    let ws = "";
    while (!this.done) {
      if (BLANK.includes(this.c) || this.c === "\r" || this.c === "\n") {
        if (BLANK.includes(this.c)) ws += this.c;
        this.pos++;
      } else if (this.c === "(") this.comments.push(this.delimited(")", true));
      else break;
    }
    return ws;
  }

  /** From the opening character at pos to `end`: backslash escapes, nested comments flattened. */
  delimited(end: string, comments: boolean): string {
    let out = "";
    this.pos++;
    while (!this.done) {
      const c = this.c;
      if (c === end || c === "\r") {
        this.pos++;
        break;
      }
      if (comments && c === "(") {
        out += this.delimited(")", true);
        continue;
      }
      if (c === "\\") this.pos++; // escapes the next character; a last one escapes nothing
      out += this.c;
      this.pos++;
    }
    return out;
  }

  atom(dotEnds: boolean): string {
    const start = this.pos;
    while (!this.done && !isAtomEnd(this.c, dotEnds)) this.pos++;
    return this.s.slice(start, this.pos);
  }

  /** Display-name words: atoms (dots allowed) and quoted strings. */
  phrase(): string[] {
    const words: string[] = [];
    while (!this.done) {
      const c = this.c;
      if (BLANK.includes(c) || c === "\r" || c === "\n") this.pos++;
      else if (c === '"') words.push(this.delimited('"', false));
      else if (c === "(") this.comments.push(this.delimited(")", true));
      else if (c !== "." && isAtomEnd(c, true)) break;
      else words.push(this.atom(false));
    }
    return words;
  }

  domain(): string | null {
    let out = "";
    while (!this.done) {
      const c = this.c;
      if (BLANK.includes(c)) this.pos++;
      else if (c === "(") this.comments.push(this.delimited(")", true));
      else if (c === "[") out += `[${this.delimited("]", false)}]`;
      else if (c === ".") {
        out += ".";
        this.pos++;
      } else if (c === "@") return null; // two "@": no address at all
      else if (isAtomEnd(c, true)) break;
      else out += this.atom(true);
    }
    return out;
  }

  /** local@domain; the local part keeps the blanks between its words, as Python does. */
  addrSpec(): string {
    const parts: string[] = [];
    const dropBlank = (): void => {
      if (parts.length > 0 && (parts[parts.length - 1] ?? "").trim() === "") parts.pop();
    };
    this.skip();
    while (!this.done) {
      let keepBlank = true;
      if (this.c === ".") {
        dropBlank();
        parts.push(".");
        this.pos++;
        keepBlank = false;
      } else if (this.c === '"') {
        parts.push(`"${this.delimited('"', false).replace(/[\\"]/g, "\\$&")}"`);
      } else if (isAtomEnd(this.c, true)) {
        dropBlank();
        break;
      } else parts.push(this.atom(true));
      const ws = this.skip();
      if (keepBlank && ws !== "") parts.push(ws);
    }
    if (this.c !== "@") return parts.join("");
    this.pos++;
    this.skip();
    const domain = this.domain();
    return domain ? `${parts.join("")}@${domain}` : "";
  }

  /** `<[@route,...:]local@domain>`: the addr-spec. */
  routeAddr(): string {
    this.pos++;
    this.skip();
    let route = false;
    while (!this.done) {
      if (route) {
        this.domain();
        route = false;
      } else if (this.c === ">") {
        this.pos++;
        return "";
      } else if (this.c === "@") {
        this.pos++;
        route = true;
      } else if (this.c === ":") this.pos++;
      else {
        const a = this.addrSpec();
        this.pos++;
        return a;
      }
      this.skip();
    }
    return "";
  }
}

/** The next address of a list: none, one, or a group's members. Always moves on. */
function readAddress(r: Reader, depth: number): TrailerAddress[] {
  r.comments = [];
  r.skip();
  const start = r.pos;
  const words = r.phrase();
  r.skip();
  const name = (): string => r.comments.join(" ");
  let out: TrailerAddress[] = [];
  if (r.done) {
    if (words.length > 0) out = [{ name: name(), address: words[0] ?? "", problem: "no address" }];
  } else if (r.c === "@" || r.c === ".") {
    // No display name: read it again as an addr-spec.
    r.pos = start;
    const address = r.addrSpec();
    out = [{ name: name(), address }];
  } else if (r.c === "<") {
    const address = r.routeAddr();
    const phrase = words.join(" ");
    out = [{ name: r.comments.length > 0 ? `${phrase} (${name()})` : phrase, address }];
  } else if (r.c === ":" && depth < 4) {
    // Group syntax (`Team: a <b@c>;`): its members.
    r.pos++;
    while (!r.done) {
      r.skip();
      if (r.peek() === ";") {
        r.pos++;
        break;
      }
      out.push(...readAddress(r, depth + 1));
    }
  } else if (words.length > 0) {
    out = [{ name: name(), address: words[0] ?? "", problem: `unquoted "${r.c}" in the name` }];
  } else r.pos++;
  r.skip();
  if (r.c === ",") r.pos++;
  if (r.pos === start) r.pos++;
  return out;
}

export function parseTrailerAddress(value: string): TrailerAddress {
  const first = readAddress(new Reader(value), 0)[0];
  return first ?? { name: "", address: "", problem: "no address" };
}
