import { getCursor, setCursor } from "../../store/cursor-repository.ts";
import type { Db } from "../../store/open-store.ts";

/**
 * Where a flow's results go on GitHub. Kept in the store (cursors table,
 * source "github-flow") so the orchestrator process that runs the report
 * finds it, whichever process received the webhook.
 */
export interface GithubTarget {
  installationId: number;
  owner: string;
  repo: string;
  number: number;
  headSha: string;
  /** "check": a check run on the head commit; "bench": the /bench acknowledgement comment. */
  kind: "check" | "bench";
  checkRunId: number | null;
  commentId: number | null;
  /** The /bench line that asked (kind "bench"). */
  request: string | null;
  changedFiles: string[];
  state: "queued" | "in_progress" | "completed" | "cancelled";
}

/** Per-PR state: its flows, and the one pending /bench. */
export interface PullState {
  flows: string[];
  pendingBench: string | null;
}

export const prKey = (owner: string, repo: string, number: number) => `${owner}/${repo}#${number}`;

export async function getTarget(db: Db, flowId: string): Promise<GithubTarget | undefined> {
  const v = await getCursor(db, "github-flow", flowId);
  return v ? (JSON.parse(v) as GithubTarget) : undefined;
}

export async function setTarget(db: Db, flowId: string, t: GithubTarget): Promise<void> {
  await setCursor(db, "github-flow", flowId, JSON.stringify(t));
}

export async function getPullState(db: Db, key: string): Promise<PullState> {
  const v = await getCursor(db, "github-pr", key);
  return v ? (JSON.parse(v) as PullState) : { flows: [], pendingBench: null };
}

export async function setPullState(db: Db, key: string, s: PullState): Promise<void> {
  await setCursor(db, "github-pr", key, JSON.stringify(s));
}
