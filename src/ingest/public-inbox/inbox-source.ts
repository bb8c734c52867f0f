/**
 * What a public-inbox source hands the mail poller: raw mails plus a commit
 * step that advances the source's cursor. The poller calls `commit` only after
 * every mail is stored, so a crash in between re-reads the same mails (the
 * store keeps the first copy of a Message-ID) and nothing is lost.
 */
export interface InboxMail {
  raw: Uint8Array;
  /** Where it came from, for quarantine and logs (e.g. `bpf/0.git@<commit>`). */
  where: string;
}

export interface InboxBatch {
  mails: InboxMail[];
  /** Persist the cursor past `mails`. */
  commit(): Promise<void>;
  /** Human-readable summary for the poll log. */
  note: string;
  /**
   * Mails the source reports done with (patchwork: a patch superseded,
   * rejected or accepted): their series' queued work is withdrawn.
   */
  closed?: { messageId: string; why: string }[];
}

/** Key/value cursors of one source (the store's cursors table, scoped by the caller). */
export interface CursorStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
}

/** The `fetch` the sources use (global fetch in production; injectable). */
export type Fetch = typeof fetch;
