import type { Series } from "../domain/series.ts";

// What public-inbox (lore) prints around a message in its web views, and no
// mail header ever holds: the navigation line, the links after Date: and
// Message-ID:, and the thread view's "(permalink / raw)".
const LORE_PAGE_MARKS: readonly [RegExp, string][] = [
  [/^\s*help \/ color \/ mirror \/ Atom feed\s*$/m, '"help / color / mirror / Atom feed"'],
  [/^Date: .*\[thread overview\]\s*$/im, '"[thread overview]" after Date:'],
  [/^Message-ID: <[^>]*>\s+\(raw\)\s*$/im, '"(raw)" after Message-ID:'],
  [/ UTC \(permalink \/ raw\)\s*$/m, '"(permalink / raw)"'],
];

/**
 * Pure: what a file's first bytes are when they are a web page rather than
 * mail (saved HTML, or a lore page copied as text), else null. Only the top
 * of a file that does not start as an mbox is looked at, so a mail quoting a
 * lore page in its body is still read as mail.
 */
export function describeWebPage(head: string): string | null {
  if (/^\s*<(!doctype html|html)[\s>]/i.test(head)) return "a web page (HTML)";
  if (/^From [^\s:]+ /.test(head)) return null;
  const top = head.split("\n", 40).join("\n");
  const mark = LORE_PAGE_MARKS.find(([re]) => re.test(top));
  return mark ? `text copied from a lore web page (${mark[1]})` : null;
}

/**
 * Pure: what a mailbox held when it holds no patch series to work on, in one
 * line a user can act on ("1 mail, a reply, no patch series: …").
 */
export function describeNonSeries(box: {
  read: number;
  series: readonly Series[];
  replies: readonly { kind: string }[];
  quarantined: readonly { messageId: string | null; reason: string }[];
}): string {
  const n = (k: number, one: string, many: string) => (k === 1 ? one : `${k} ${many}`);
  const parts = [n(box.read, "1 mail", "mails")];
  const pulls = box.series.filter((s) => s.kind === "pull").length;
  const empty = box.series.filter((s) => s.kind === "patch" && s.patches.length === 0).length;
  if (box.replies.length > 0) parts.push(n(box.replies.length, "a reply", "replies"));
  if (pulls > 0) parts.push(n(pulls, "a pull request", "pull requests"));
  if (empty > 0) parts.push(n(empty, "a cover letter without its patches", "cover letters without their patches"));
  if (box.quarantined.length > 0) {
    const first = box.quarantined[0]!;
    parts.push(`${n(box.quarantined.length, "1 quarantined", "quarantined")} (${first.reason}${box.quarantined.length > 1 ? ", …" : ""})`);
  }
  let hint: string;
  if (box.replies.length > 0 && box.replies.length + box.quarantined.length >= box.read) {
    hint = "is this a web page copy? Download the raw message or the thread's mbox from lore (…/raw or …/t.mbox.gz)";
  } else if (empty > 0) hint = "the patches are missing: give the whole thread's mbox";
  else if (box.quarantined.length > 0 && !box.quarantined.every((q) => q.reason.startsWith("not a mail"))) {
    hint = "see `patchbench quarantine list` for each mail and why";
  } else hint = "give the series' mbox, a maildir, or `git format-patch` output";
  return `${parts.join(", ")}, no patch series: ${hint}`;
}
