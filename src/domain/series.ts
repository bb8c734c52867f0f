/**
 * A patch series as a maintainer reads it: optional cover letter plus
 * patches 1..N of one version. Fits both mail (lore) and GitHub PRs.
 * This is also the JSON contract of `patchbench series --json`.
 * Message-IDs are stored without angle brackets.
 */
export interface MessageRef {
  messageId: string;
  subject: string;
}

export interface SeriesPatch {
  index: number;
  messageId: string;
  subject: string;
  /** "Name <email>" as in the From: header (or the commit author). */
  author: string;
  /** Commit id for GitHub-sourced patches; absent for mail. */
  commit?: string;
}

export interface SeriesTrailer {
  /** Patch index; 0 for the whole series (a reply to the cover). */
  patch: number;
  line: string;
}

export type SeriesSource = "mail" | "github";

export interface Series {
  /** Deterministic id: same series version → same id (no ':' and never all digits). */
  id: string;
  source: SeriesSource;
  title: string;
  tree: string | null;
  version: number;
  rfc: boolean;
  resend: boolean;
  total: number;
  kind: "patch" | "pull";
  cover: MessageRef | null;
  patches: SeriesPatch[];
  missing: number[];
  complete: boolean;
  baseCommit: string | null;
  changeId: string | null;
  trailers: SeriesTrailer[];
  previousVersion: string | null;
  /** Author of the series (cover or first patch). */
  author: string;
  /** ISO date of the cover (or first patch). */
  date: string | null;
  /** Free text a human wrote: cover body and commit messages, for claim parsing. */
  text?: string;
}

/** Raw bytes of the mails of a series, keyed by Message-ID, for `git am`. */
export type RawMails = ReadonlyMap<string, Uint8Array>;
