import type { Db } from "./open-store.ts";
import type { PatchworkScope } from "./patchwork-repository.ts";

/** One check a patch and context of a patchwork project should show. */
export interface WantedCheck {
  patchId: number;
  context: string;
  state: string;
  description: string;
  targetUrl: string | null;
  /** Post only over a pending of the context. */
  onlyOverPending: boolean;
}

export interface WantedCheckRow extends WantedCheck {
  flowId: string;
  /** Decided by the flow's report or withdrawal (not a stage's pending). */
  final: boolean;
}

/** The row of one check: its key columns and the columns an update sets. */
function rowOf(scope: PatchworkScope, flowId: string, c: WantedCheck, final: boolean) {
  const key = { instance: scope.instance.replace(/\/+$/, ""), project: scope.project, patch_id: c.patchId, context: c.context };
  const set = {
    flow_id: flowId,
    state: c.state,
    description: c.description,
    target_url: c.targetUrl,
    final: final ? 1 : 0,
    only_over_pending: c.onlyOverPending ? 1 : 0,
    updated_at: new Date().toISOString(),
  };
  return { key, set };
}

const KEY = ["instance", "project", "patch_id", "context"] as const;

/** A flow's report or withdrawal decides what its patches' contexts show (before posting, so a late pending can see it lost). */
export async function recordFinalChecks(db: Db, scope: PatchworkScope, flowId: string, checks: readonly WantedCheck[]): Promise<void> {
  for (const c of checks) {
    const { key, set } = rowOf(scope, flowId, c, true);
    await db
      .insertInto("patchwork_check_states")
      .values({ ...key, ...set })
      .onConflict((oc) => oc.columns(KEY).doUpdateSet(set))
      .execute();
  }
}

/**
 * Take the contexts a stage's pending may still be posted on: all but those its own flow has
 * already ended (a final check recorded for the same flow). Returns the checks it may post.
 */
export async function claimPendingChecks(db: Db, scope: PatchworkScope, flowId: string, checks: readonly WantedCheck[]): Promise<WantedCheck[]> {
  const out: WantedCheck[] = [];
  for (const c of checks) {
    const { key, set } = rowOf(scope, flowId, c, false);
    const r = await db
      .insertInto("patchwork_check_states")
      .values({ ...key, ...set })
      .onConflict((oc) =>
        oc
          .columns(KEY)
          .doUpdateSet(set)
          .where((eb) => eb.or([eb("patchwork_check_states.final", "=", 0), eb("patchwork_check_states.flow_id", "!=", flowId)])),
      )
      .executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows ?? 0) > 0) out.push(c);
  }
  return out;
}

/** What these patches' contexts should show now, as recorded. */
export async function listWantedChecks(db: Db, scope: PatchworkScope, keys: readonly { patchId: number; context: string }[]): Promise<WantedCheckRow[]> {
  if (keys.length === 0) return [];
  const rows = await db
    .selectFrom("patchwork_check_states")
    .selectAll()
    .where("instance", "=", scope.instance.replace(/\/+$/, ""))
    .where("project", "=", scope.project)
    .where("patch_id", "in", [...new Set(keys.map((k) => k.patchId))])
    .execute();
  const wanted = new Set(keys.map((k) => `${k.patchId}\0${k.context}`));
  return rows
    .filter((r) => wanted.has(`${r.patch_id}\0${r.context}`))
    .map((r) => ({
      patchId: Number(r.patch_id),
      context: r.context,
      state: r.state,
      description: r.description,
      targetUrl: r.target_url,
      onlyOverPending: r.only_over_pending === 1,
      flowId: r.flow_id,
      final: r.final === 1,
    }));
}
