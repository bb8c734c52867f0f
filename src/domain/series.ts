/**
 * A patch series as a maintainer reads it: optional cover letter plus
 * patches 1..N of one version. Fits both mail (lore) and GitHub PRs.
 * This is also the JSON contract of `patchbench series --json`.
 * Message-IDs are stored without angle brackets.
 */
export interface MessageRef {
  messageId: string;
  subject: string;
  /**
   * Set on a mail of an earlier version that this version took over unchanged:
   * a partial re-roll re-sends only the patches that changed (b4's rule).
   */
  carriedFrom?: number;
}

export interface SeriesPatch {
  index: number;
  messageId: string;
  subject: string;
  /** "Name <email>" as in the From: header (or the commit author). */
  author: string;
  /** Commit id for GitHub-sourced patches; absent for mail. */
  commit?: string;
  /** The earlier version this patch was taken from unchanged (a partial re-roll); see MessageRef. */
  carriedFrom?: number;
}

export interface SeriesTrailer {
  /** Patch index; 0 for the whole series (a reply to the cover). */
  patch: number;
  line: string;
}

/**
 * A follow-up trailer not attached because its sender is not the person it
 * names (b4's rule, see attributeTrailer): kept so a reader sees it was given.
 */
export interface UnattributedTrailer {
  /** Patch index; 0 for the whole series (a reply to the cover). */
  patch: number;
  line: string;
  /** The reply's sender, "Name <email>". */
  from: string;
  /** Why, e.g. "sender a@example.com is not a@example.net". */
  reason: string;
}

/** Where a series came from; "tree": a tree tip measured against the previous one (no patches). */
export type SeriesSource = "mail" | "github" | "tree";

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
  kind: "patch" | "pull" | "tip";
  cover: MessageRef | null;
  patches: SeriesPatch[];
  missing: number[];
  complete: boolean;
  baseCommit: string | null;
  changeId: string | null;
  trailers: SeriesTrailer[];
  /** Follow-up trailers refused because the sender is not the person named; only when there are any. */
  unattributedTrailers?: UnattributedTrailer[];
  previousVersion: string | null;
  /** The mailing lists its own mails came through (List-Id, e.g. bpf.vger.kernel.org), lowercased; absent: none said. */
  lists?: string[];
  /** Author of the series (cover or first patch). */
  author: string;
  /** ISO date of the cover (or first patch). */
  date: string | null;
  /** Free text a human wrote: cover body and commit messages, for claim parsing. */
  text?: string;
  /**
   * Set when some of its mails had no Message-ID and got a synthetic one
   * (`synthetic-<sha256 prefix>@patchbench.invalid`, local input only).
   */
  syntheticMessageIds?: true;
}

/**
 * The Message-ID that stands for this version: its own cover, else its first
 * own patch. Carried mails are skipped: they stand for the earlier version.
 */
export function seriesRef(s: Pick<Series, "cover" | "patches">): string | null {
  if (s.cover && s.cover.carriedFrom === undefined) return s.cover.messageId;
  return s.patches.find((p) => p.carriedFrom === undefined)?.messageId ?? null;
}

/** The Message-IDs a series itself mailed (not those a partial re-roll carries from an earlier version). */
export function ownMessageIds(s: Pick<Series, "cover" | "patches">): string[] {
  return [...(s.cover && s.cover.carriedFrom === undefined ? [s.cover.messageId] : []), ...s.patches.filter((p) => p.carriedFrom === undefined).map((p) => p.messageId)];
}

/** The lists a series' own mails came through, from their List-Id values: lowercased, whole ids only, sorted, once each. */
export function seriesLists(listIds: Iterable<string | null>): string[] {
  return [...new Set([...listIds].map((l) => l?.trim().toLowerCase() ?? "").filter((l) => /^[a-z0-9._-]{1,200}$/.test(l)))].sort();
}

/** Raw bytes of the mails of a series, keyed by Message-ID, for `git am`. */
export type RawMails = ReadonlyMap<string, Uint8Array>;
