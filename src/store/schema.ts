import type { Generated } from "kysely";

/** Database tables (Kysely types). JSON columns hold domain values as text. */
export interface SeriesTable {
  id: string;
  source: string;
  title: string;
  version: number;
  tree: string | null;
  /** The Series value (domain) as JSON. */
  data: string;
  created_at: string;
  /** Subjects, author and Message-IDs, lowercased, one a line: what the series list searches. */
  search_text: Generated<string>;
  /** The author's address, lowercased: the series list's author filter. */
  author_email: Generated<string>;
  /** The Series' previousVersion: how the newer versions of a series are found. */
  previous_version: Generated<string | null>;
}
export interface RawMailTable {
  message_id: string;
  series_id: string | null;
  raw: Uint8Array;
  created_at: string;
}
export interface FlowTable {
  id: string;
  series_id: string;
  tree: string;
  base: string | null;
  plan: string;
  status: string;
  created_at: string;
  finished_at: string | null;
  /** The BullMQ FlowJob it was enqueued with (JSON); null for flows stored before 0002. */
  job: string | null;
}
export interface RunTable {
  id: string;
  flow_id: string;
  stage: string;
  status: string;
  summary: string;
  data: string;
  created_at: string;
}
export interface SampleTable {
  id: Generated<number>;
  flow_id: string;
  cell: string;
  variant: string;
  round: number;
  run: number;
  slot: number;
  throughput: number | null;
  ok: number;
  problem: string | null;
  started_at: string;
  ended_at: string;
  values_json: string;
  /** Why the run was set aside and measured again (it stays stored, out of the analysis); null when it counts. */
  superseded: string | null;
}
export interface VerdictTable {
  flow_id: string;
  cell: string;
  verdict: string;
  data: string;
}
export interface DeliveryTable {
  id: string;
  flow_id: string;
  channel: string;
  message_id: string | null;
  status: string;
  target: string;
  attempts: number;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
  /** The attempt holding the lease (null: nobody is sending it). */
  claim_id: string | null;
  /** When that attempt claimed it (ISO); a lease older than the outbox lease time may be taken over. */
  claimed_at: string | null;
}
export interface QuarantineTable {
  id: Generated<number>;
  message_id: string | null;
  reason: string;
  source: string;
  raw: Uint8Array | null;
  created_at: string;
}
export interface CursorTable {
  source: string;
  key: string;
  value: string;
  updated_at: string;
}

export interface GithubTargetTable {
  flow_id: string;
  installation_id: number;
  owner: string;
  repo: string;
  number: number;
  head_sha: string;
  kind: string;
  check_run_id: number | null;
  comment_id: number | null;
  request: string | null;
  /** JSON array of paths. */
  changed_files: string;
  state: string;
  updated_at: string;
}

export interface PullStateTable {
  /** owner/repo#number */
  pr_key: string;
  /** JSON array of flow ids, oldest first. */
  flows: string;
  pending_bench: string | null;
  updated_at: string;
}

/** Patchwork's ids and state of one mail (a patch, or a cover that only has a series id) in one instance and project. */
export interface PatchworkPatchTable {
  /** Root URL of the patchwork instance, no trailing slash. */
  instance: string;
  project: string;
  /** Without angle brackets. */
  message_id: string;
  patch_id: number | null;
  series_id: number | null;
  /** Patchwork's state slug (new, superseded, accepted, …) as last reported. */
  state: string | null;
  updated_at: string;
}

/** A series and a mailing list its mails came through: the series list's list filter. */
export interface SeriesListTable {
  /** The List-Id, lowercased, without angle brackets. */
  list_id: string;
  series_id: string;
}

/** The mails a saved series sent itself (cover and patches, not those carried from an earlier version). */
export interface SeriesMailTable {
  /** Without angle brackets. */
  message_id: string;
  series_id: string;
}

/** The check one patch and context of a patchwork project should show, as last decided (a final one is not undone by a late pending of its flow). */
export interface PatchworkCheckStateTable {
  instance: string;
  project: string;
  patch_id: number;
  context: string;
  flow_id: string;
  state: string;
  description: string;
  target_url: string | null;
  /** 1: the flow's report or withdrawal decided it; 0: a stage's pending. */
  final: number;
  /** 1: post it only over a pending of the context (a stage not run). */
  only_over_pending: number;
  updated_at: string;
  /** A final check: when patchwork was seen to show it (null: its POST not made or not answered yet). */
  posted_at: string | null;
}

export interface Database {
  series: SeriesTable;
  raw_mails: RawMailTable;
  flows: FlowTable;
  runs: RunTable;
  samples: SampleTable;
  verdicts: VerdictTable;
  deliveries: DeliveryTable;
  quarantine: QuarantineTable;
  cursors: CursorTable;
  github_targets: GithubTargetTable;
  pull_states: PullStateTable;
  patchwork_patches: PatchworkPatchTable;
  series_mails: SeriesMailTable;
  series_lists: SeriesListTable;
  patchwork_check_states: PatchworkCheckStateTable;
}
