import { existsSync, statSync } from "node:fs";
import { type AssembledMailbox, assembleMailbox } from "../ingest/mail/assemble-mailbox.ts";
import { readMailbox } from "../ingest/mail/read-mailbox.ts";
import { inputError } from "../lib/errors.ts";

/**
 * A path (mbox, maildir, .eml, folder of mails) → assembled series. Refuses
 * clearly when the path is missing or holds no mail at all.
 */
export async function readSeriesInput(path: string): Promise<AssembledMailbox & { read: number }> {
  if (!existsSync(path)) throw inputError(`${path}: no such file or directory`, "give an mbox file, a maildir, an .eml file or a folder of mails");
  const st = statSync(path);
  if (!st.isFile() && !st.isDirectory()) throw inputError(`${path}: not a file or folder`);
  const box = readMailbox(path);
  if (box.messages.length === 0) {
    const why = box.quarantined[0]?.reason;
    throw inputError(`${path}: no mail found${why ? ` (${why})` : ""}`, "is this an mbox, a maildir or an .eml file?");
  }
  const assembled = await assembleMailbox(box.messages.map((m) => m.raw));
  return { ...assembled, quarantined: [...box.quarantined, ...assembled.quarantined], read: box.messages.length };
}
