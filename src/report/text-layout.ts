/**
 * The layout of plain-text mail: ASCII only, at most 72 columns, words
 * wrapped with hanging indents, shell commands that still paste.
 */
export const MAX_COLUMNS = 72;

export function wrap(text: string, indent = "", width = MAX_COLUMNS): string[] {
  const out: string[] = [];
  let line = indent;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line.trim().length > 0 && line.length + 1 + word.length > width) {
      out.push(line);
      line = indent + word;
    } else line = line.trim().length > 0 ? `${line} ${word}` : indent + word;
  }
  if (line.trim()) out.push(line);
  return out.map((l) => (l.length > width ? l.slice(0, width) : l));
}

/** Wrap with a hanging indent: the first line starts with `head`, the rest line up under its text. */
export function hang(head: string, text: string, indent = " ".repeat(head.length)): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  const out: string[] = [];
  let line = head;
  let fresh = true;
  for (const w of words) {
    if (!fresh && line.length + 1 + w.length > MAX_COLUMNS) {
      out.push(line);
      line = indent + w;
    } else line = fresh ? line + w : `${line} ${w}`;
    fresh = false;
  }
  out.push(line);
  return out.map((l) => l.slice(0, MAX_COLUMNS));
}

/** Replace anything outside printable ASCII (names, subjects from mail). */
const ASCII_FOR: Record<string, string> = {
  "\u00d7": "x",
  "\u2248": "~",
  "\u2192": "->",
  "\u2190": "<-",
  "\u2264": "<=",
  "\u2265": ">=",
  "\u00b1": "+/-",
  "\u00b5": "u",
  "\u03bc": "u",
  "\u2013": "-",
  "\u2014": "-",
  "\u2212": "-",
  "\u2018": "'",
  "\u2019": "'",
  "\u201c": '"',
  "\u201d": '"',
  "\u2026": "...",
};

export function toAscii(s: string): string {
  return s
    .replace(/[\u00d7\u2248\u2192\u2190\u2264\u2265\u00b1\u00b5\u03bc\u2013\u2014\u2212\u2018\u2019\u201c\u201d\u2026]/g, (c) => ASCII_FOR[c] ?? "?")
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^\x20-\x7e]/g, "?");
}

/**
 * A shell command over several lines that still pastes into sh: lines end
 * in " \\"; a word longer than a line (a -k selector list) is cut after a
 * comma with a bare "\\" and continues at column 0, because sh removes
 * backslash-newline inside a word and would keep an indent as part of it.
 */
export function wrapCommand(cmd: string): string[] {
  const width = MAX_COLUMNS - 2;
  const out: string[] = [];
  let line = "";
  for (const word of cmd.split(/\s+/).filter(Boolean)) {
    const indent = out.length === 0 && line === "" ? "  " : "    ";
    if (line === "") line = indent;
    else if (line.length + 1 + word.length <= width) {
      line += " ";
    } else {
      out.push(`${line} \\`);
      line = "    ";
    }
    if (line.length + word.length <= width) {
      line += word;
      continue;
    }
    let rest = word;
    while (line.length + rest.length > width) {
      const room = MAX_COLUMNS - 1 - line.length;
      const cut = rest.lastIndexOf(",", room - 1);
      const at = cut > 0 ? cut + 1 : room;
      out.push(`${line}${rest.slice(0, at)}\\`);
      rest = rest.slice(at);
      line = "";
    }
    line += rest;
  }
  if (line.trim()) out.push(line);
  return out;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

