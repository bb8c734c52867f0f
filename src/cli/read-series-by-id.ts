import { type AssembledMailbox, assembleMailbox } from "../ingest/mail/assemble-mailbox.ts";
import { inputError } from "../lib/errors.ts";
import type { Db } from "../store/open-store.ts";
import { listRecentMails } from "../store/series-repository.ts";

/** A bare Message-ID as users paste it: with or without angle brackets, no path separators. */
export function looksLikeMessageId(input: string): boolean {
  return /^<?[^\s<>/]+@[^\s<>/]+>?$/.test(input);
}

/**
 * The series a Message-ID belongs to (its cover, one of its patches, or a
 * reply to it), assembled from the mail the service has stored.
 */
export async function readSeriesById(db: Db, input: string, windowDays = 90): Promise<AssembledMailbox> {
  const id = input.replace(/^<|>$/g, "");
  const box = await assembleMailbox(await listRecentMails(db, new Date(Date.now() - windowDays * 86400_000).toISOString()));
  const reply = box.replies.find((r) => r.messageId === id);
  const match = box.series.filter(
    // A mail carried into a partial re-roll belongs to the version that sent it.
    (s) =>
      (s.cover?.messageId === id && s.cover.carriedFrom === undefined) ||
      s.patches.some((p) => p.messageId === id && p.carriedFrom === undefined) ||
      (reply?.seriesId !== null && s.id === reply?.seriesId),
  );
  if (match.length === 0) {
    throw inputError(
      `no stored series contains <${id}>`,
      "give an mbox/maildir path, or let `patchbench start` ingest the list first (see sources)",
    );
  }
  return { ...box, series: match };
}
