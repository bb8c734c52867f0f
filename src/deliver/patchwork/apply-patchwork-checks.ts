import type { Logger } from "../../lib/logger.ts";
import type { PatchworkClient } from "../../lib/patchwork-client.ts";
import type { PatchworkState, PlannedCheck } from "./plan-patchwork-checks.ts";

/** A check as patchwork lists it (API 1.3 `Check`), the fields read here. */
export interface PatchworkCheck {
  id: number;
  date: string;
  state: PatchworkState;
  context: string;
  description: string | null;
  target_url: string | null;
}

export interface ApplyOutcome {
  posted: number;
  /** Planned checks whose context already shows that state. */
  unchanged: number;
  /** Patches patchwork no longer has (series deleted): their checks are dropped. */
  droppedPatches: number[];
}

/**
 * Patchwork's rule: of the checks of one context on a patch, the latest
 * counts (patchwork/models.py Patch.combined_check_state). Latest by date,
 * then id (dates can tie within a second).
 */
export function latestByContext(checks: readonly PatchworkCheck[]): Map<string, PatchworkCheck> {
  const out = new Map<string, PatchworkCheck>();
  for (const c of checks) {
    const seen = out.get(c.context);
    if (!seen || c.date > seen.date || (c.date === seen.date && c.id > seen.id)) out.set(c.context, c);
  }
  return out;
}

/**
 * Post planned checks, idempotently: a patch's checks are read first and a
 * context whose latest check already has the planned state gets nothing (a
 * re-run of the report job posts nothing new). A patch gone from patchwork
 * is dropped with a log line; a refused token ends it (PatchworkError
 * "auth"/"forbidden"), as does patchwork staying unavailable.
 */
export async function applyPatchworkChecks(
  client: PatchworkClient,
  planned: readonly PlannedCheck[],
  log: Logger,
  hooks: {
    /** True when the check lost to a final one meanwhile (a pending its flow's report overtook): asked before each POST and retry. */
    lost?: (c: PlannedCheck) => Promise<boolean>;
    /** Told of each check patchwork shows now or needs no more (posted, found shown, or only over a pending none shows). */
    settled?: (c: PlannedCheck) => Promise<void>;
  } = {},
): Promise<ApplyOutcome> {
  const { lost, settled } = hooks;
  const out: ApplyOutcome = { posted: 0, unchanged: 0, droppedPatches: [] };
  const byPatch = new Map<number, PlannedCheck[]>();
  for (const p of planned) byPatch.set(p.patchId, [...(byPatch.get(p.patchId) ?? []), p]);
  const gone = (patchId: number, e: unknown): boolean => {
    if ((e as { name?: string }).name !== "PatchworkError" || (e as { code?: string }).code !== "not-found") return false;
    log.warn({ patchId }, "patchwork no longer has this patch (series deleted?): its checks are dropped");
    out.droppedPatches.push(patchId);
    return true;
  };
  for (const [patchId, checks] of byPatch) {
    const path = `patches/${patchId}/checks/`;
    let latest: Map<string, PatchworkCheck>;
    try {
      latest = latestByContext(await client.list<PatchworkCheck>(path));
    } catch (e) {
      if (gone(patchId, e)) continue;
      throw e;
    }
    for (const c of checks) {
      const shown = latest.get(c.context)?.state;
      if (shown === c.state || (c.onlyOverPending && shown !== "pending")) {
        out.unchanged++;
        await settled?.(c);
        continue;
      }
      if (await lost?.(c)) {
        out.unchanged++;
        continue;
      }
      const body = { state: c.state, context: c.context, description: c.description, target_url: c.targetUrl };
      const since = latest.get(c.context);
      // After a 502/504 the check may have been stored: look before posting again.
      let gaveUp = false;
      const landed = async () => {
        if (await lost?.(c)) {
          gaveUp = true;
          return true;
        }
        const now = latestByContext(await client.list<PatchworkCheck>(path, { context: c.context })).get(c.context);
        return !!now && now.id !== since?.id && now.state === c.state && now.description === c.description;
      };
      try {
        const created = await client.post<PatchworkCheck>(path, body, landed);
        if (gaveUp) {
          out.unchanged++;
          continue;
        }
        if (created) latest.set(c.context, created);
        out.posted++;
        await settled?.(c);
        log.info({ patchId, context: c.context, state: c.state, landedEarlier: created === null }, "patchwork check posted");
      } catch (e) {
        if (gone(patchId, e)) break;
        throw e;
      }
    }
  }
  return out;
}
