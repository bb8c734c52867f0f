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
  /** When patchwork was seen to show this final check (posted, or already shown); null: not yet. */
  postedAt: string | null;
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
    posted_at: null,
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
 * Take the contexts a stage's pending may still be posted on: all but those a final check holds
 * that its own flow or a flow not older than it recorded (a retry, a late event, an older flow's
 * stage starting late). Returns the checks it may post.
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
          .where((eb) =>
            eb.or([
              eb("patchwork_check_states.final", "=", 0),
              // Only a newer flow starts a context a final check ended; a flow unknown to the store is not newer.
              eb(
                eb.selectFrom("flows").select("flows.created_at").where("flows.id", "=", flowId),
                ">",
                eb.selectFrom("flows").select("flows.created_at").whereRef("flows.id", "=", "patchwork_check_states.flow_id"),
              ),
            ]),
          ),
      )
      .executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows ?? 0) > 0) out.push(c);
  }
  return out;
}

/** Patchwork shows these final checks of the flow now (posted, or already shown): a pending that lands after them may be followed by them again. */
export async function markFinalChecksPosted(db: Db, scope: PatchworkScope, flowId: string, checks: readonly { patchId: number; context: string }[]): Promise<void> {
  const at = new Date().toISOString();
  for (const c of checks) {
    await db
      .updateTable("patchwork_check_states")
      .set({ posted_at: at })
      .where("instance", "=", scope.instance.replace(/\/+$/, ""))
      .where("project", "=", scope.project)
      .where("patch_id", "=", c.patchId)
      .where("context", "=", c.context)
      .where("flow_id", "=", flowId)
      .where("final", "=", 1)
      .execute();
  }
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
      postedAt: r.posted_at,
    }));
}
