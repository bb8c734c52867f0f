import type { Series } from "../domain/series.ts";

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
  else if (box.quarantined.length > 0) hint = "see `patchbench quarantine list` for each mail and why";
  else hint = "give the series' mbox, a maildir, or `git format-patch` output";
  return `${parts.join(", ")}, no patch series: ${hint}`;
}
