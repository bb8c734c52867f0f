/**
 * Pure: the parts of a patch mail the checks need — the sender (From:
 * header), the author (an in-body "From:" overrides, as git am does) and
 * the commit message (body up to the "---" line or the first diff).
 * Addresses are compared by their lower-cased email only.
 */
export interface MailParts {
  sender: string | null;
  author: string | null;
  message: string[];
  /** Line number (1-based, in the raw mail) of each message line. */
  messageLineNumbers: number[];
}

export function emailOf(value: string): string | null {
  const angle = /<([^<>\s]+@[^<>\s]+)>/.exec(value);
  if (angle?.[1]) return angle[1].toLowerCase();
  const bare = /([^\s<>"(),;]+@[^\s<>"(),;]+)/.exec(value);
  return bare?.[1] ? bare[1].toLowerCase() : null;
}

export function splitMail(text: string): MailParts {
  const lines = text.split("\n").map((l) => l.replace(/\r$/, ""));
  let i = 0;
  if (lines[0]?.startsWith("From ")) i = 1;
  let sender = null as string | null;
  let current = "";
  const flush = () => {
    if (/^from:/i.test(current)) sender = emailOf(current.slice(5));
  };
  for (; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === "") break;
    if (/^[ \t]/.test(l)) current += ` ${l.trim()}`;
    else {
      flush();
      current = l;
    }
  }
  flush();
  i++;
  let author = sender;
  // In-body headers (From:, Date:, Subject:) before a blank line, as git mailinfo reads them.
  while (i < lines.length && lines[i] === "") i++;
  if (/^From: /.test(lines[i] ?? "")) {
    author = emailOf(lines[i]!.slice(6)) ?? author;
    while (i < lines.length && lines[i] !== "") i++;
  }
  const message: string[] = [];
  const numbers: number[] = [];
  for (; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === "---" || l.startsWith("diff --git ") || l.startsWith("Index: ")) break;
    message.push(l);
    numbers.push(i + 1);
  }
  return { sender, author, message, messageLineNumbers: numbers };
}
