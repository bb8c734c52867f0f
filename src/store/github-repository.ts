import { z } from "zod";
import type { Db } from "./open-store.ts";

/**
 * Where a flow's results go on GitHub, kept in the store so the process
 * that runs the report finds it, whichever process received the webhook.
 * Parsed at this boundary: a row that does not fit is an error, not a guess.
 */
export const githubTargetSchema = z.object({
  installationId: z.number().int(),
  owner: z.string(),
  repo: z.string(),
  number: z.number().int().positive(),
  headSha: z.string(),
  /** "check": a check run on the head commit; "bench": the /bench acknowledgement comment. */
  kind: z.enum(["check", "bench"]),
  checkRunId: z.number().int().nullable(),
  commentId: z.number().int().nullable(),
  /** The /bench line that asked (kind "bench"). */
  request: z.string().nullable(),
  changedFiles: z.array(z.string()),
  state: z.enum(["queued", "in_progress", "completed", "cancelled"]),
});
export type GithubTarget = z.infer<typeof githubTargetSchema>;

/** Per-PR state: its flows (oldest first), and the one pending /bench. */
export const pullStateSchema = z.object({ flows: z.array(z.string()), pendingBench: z.string().nullable() });
export type PullState = z.infer<typeof pullStateSchema>;

export const prKey = (owner: string, repo: string, number: number) => `${owner}/${repo}#${number}`;

export async function getTarget(db: Db, flowId: string): Promise<GithubTarget | undefined> {
  const r = await db.selectFrom("github_targets").selectAll().where("flow_id", "=", flowId).executeTakeFirst();
  if (!r) return undefined;
  return githubTargetSchema.parse({
    installationId: Number(r.installation_id),
    owner: r.owner,
    repo: r.repo,
    number: Number(r.number),
    headSha: r.head_sha,
    kind: r.kind,
    checkRunId: r.check_run_id === null ? null : Number(r.check_run_id),
    commentId: r.comment_id === null ? null : Number(r.comment_id),
    request: r.request,
    changedFiles: JSON.parse(r.changed_files),
    state: r.state,
  });
}

export async function setTarget(db: Db, flowId: string, target: GithubTarget): Promise<void> {
  const t = githubTargetSchema.parse(target);
  const row = {
    installation_id: t.installationId,
    owner: t.owner,
    repo: t.repo,
    number: t.number,
    head_sha: t.headSha,
    kind: t.kind,
    check_run_id: t.checkRunId,
    comment_id: t.commentId,
    request: t.request,
    changed_files: JSON.stringify(t.changedFiles),
    state: t.state,
    updated_at: new Date().toISOString(),
  };
  await db
    .insertInto("github_targets")
    .values({ flow_id: flowId, ...row })
    .onConflict((oc) => oc.column("flow_id").doUpdateSet(row))
    .execute();
}

export async function getPullState(db: Db, key: string): Promise<PullState> {
  const r = await db.selectFrom("pull_states").selectAll().where("pr_key", "=", key).executeTakeFirst();
  return r ? pullStateSchema.parse({ flows: JSON.parse(r.flows), pendingBench: r.pending_bench }) : { flows: [], pendingBench: null };
}

export async function setPullState(db: Db, key: string, state: PullState): Promise<void> {
  const s = pullStateSchema.parse(state);
  const row = { flows: JSON.stringify(s.flows), pending_bench: s.pendingBench, updated_at: new Date().toISOString() };
  await db
    .insertInto("pull_states")
    .values({ pr_key: key, ...row })
    .onConflict((oc) => oc.column("pr_key").doUpdateSet(row))
    .execute();
}
