import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { type AssembledMailbox, assembleMailbox } from "../ingest/mail/assemble-mailbox.ts";
import { type ReadMailboxResult, readMailbox } from "../ingest/mail/read-mailbox.ts";
import { inputError } from "../lib/errors.ts";
import { describeWebPage } from "./describe-input.ts";

/**
 * The patch files a `git send-email --dry-run` log names: it prints them
 * one per line before its first "Dry-OK" (the log itself holds headers
 * only, no patches). Null when `head` is not such a log. Pure.
 */
export function sendEmailDryRunFiles(head: string): string[] | null {
  const at = head.indexOf("\nDry-OK. Log says:\n");
  if (at < 0 && !head.startsWith("Dry-OK. Log says:\n")) return null;
  const files: string[] = [];
  for (const line of head.slice(0, Math.max(0, at)).split("\n")) {
    if (line.startsWith("(") || line.trim() === "") continue;
    if (/\.(patch|eml|mbox)$/i.test(line.trim())) files.push(line.trim());
  }
  return files;
}

function readHead(path: string, bytes = 64 * 1024): string {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    return buf.toString("utf8", 0, n);
  } finally {
    closeSync(fd);
  }
}

/** A `git send-email --dry-run` log → the patch files it names (absolute, or next to the log, or from the cwd). */
function readDryRunLog(path: string, files: string[]): ReadMailboxResult {
  if (files.length === 0) {
    throw inputError(`${path}: a \`git send-email --dry-run\` log names no patch files`, "give the .patch files (or their folder) instead: the log holds headers only");
  }
  const found = files.map((f) => (isAbsolute(f) ? f : [resolve(dirname(path), f), resolve(f)].find((p) => existsSync(p)) ?? f));
  const missing = found.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw inputError(
      `${path}: a \`git send-email --dry-run\` log (headers only, no patches); the patch files it names are not here: ${missing.join(", ")}`,
      "give the .patch files (or their folder) instead",
    );
  }
  const out: ReadMailboxResult = { messages: [], quarantined: [] };
  for (const f of found) {
    const one = readMailbox(f);
    out.messages.push(...one.messages);
    out.quarantined.push(...one.quarantined);
  }
  return out;
}

/** One path's mail, refused clearly when the path is missing, a web page, or holds no mail at all. */
function readOnePath(path: string): ReadMailboxResult {
  if (!existsSync(path)) throw inputError(`${path}: no such file or directory`, "give an mbox file, a maildir, an .eml file or a folder of mails");
  const st = statSync(path);
  if (!st.isFile() && !st.isDirectory()) throw inputError(`${path}: not a file or folder`);
  const head = st.isFile() ? readHead(path) : "";
  const page = describeWebPage(head);
  if (page !== null) {
    throw inputError(`${path}: ${page}, not mail`, "download the raw message (…/raw) or the thread's mbox (…/t.mbox.gz) from lore");
  }
  const dryRun = st.isFile() ? sendEmailDryRunFiles(head) : null;
  const box = dryRun ? readDryRunLog(path, dryRun) : readMailbox(path);
  if (box.messages.length === 0) {
    const why = box.quarantined[0]?.reason;
    throw inputError(`${path}: no mail found${why ? ` (${why})` : ""}`, "is this an mbox, a maildir or an .eml file?");
  }
  return box;
}

/**
 * Paths (mbox, maildir, .eml, folder of mails or of `git format-patch`
 * files, a `git send-email --dry-run` log; several, e.g. `000*.patch`) →
 * the series assembled from all their mail together.
 */
export async function readSeriesInput(paths: readonly string[]): Promise<AssembledMailbox & { read: number }> {
  const boxes = paths.map(readOnePath);
  const messages = boxes.flatMap((b) => b.messages);
  // A user's own input: `git format-patch` output without --thread has no Message-IDs.
  const assembled = await assembleMailbox(
    messages.map((m) => m.raw),
    { synthesizeMessageIds: true },
  );
  return { ...assembled, quarantined: [...boxes.flatMap((b) => b.quarantined), ...assembled.quarantined], read: messages.length };
}
