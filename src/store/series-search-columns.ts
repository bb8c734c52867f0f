import type { Series } from "../domain/series.ts";

/**
 * The series list's searchable and filterable text, kept in columns of their own so a
 * search matches what a reader typed it for (subjects, the author, Message-IDs) and not
 * whatever else the stored JSON holds (its keys, commit messages, trailers).
 * Lowercased here, not by SQL: SQLite's lower() folds ASCII only.
 */
export function seriesSearchColumns(s: Pick<Series, "title" | "author" | "cover" | "patches">): { search_text: string; author_email: string } {
  const subjects = [s.title, ...(s.cover ? [s.cover.subject] : []), ...s.patches.map((p) => p.subject)];
  const ids = [...(s.cover ? [s.cover.messageId] : []), ...s.patches.map((p) => p.messageId)];
  // One field a line: a search cannot span two fields, as it holds no line break (the web edge refuses them).
  const search_text = [...new Set([...subjects, s.author, ...ids])].join("\n").toLowerCase();
  return { search_text, author_email: authorEmail(s.author) };
}

/** The address of "Name <addr>" (or the whole text when it is a bare address), lowercased. */
export function authorEmail(author: string): string {
  const m = /<([^<>]*)>\s*$/.exec(author);
  return (m ? m[1]! : author).trim().toLowerCase();
}
