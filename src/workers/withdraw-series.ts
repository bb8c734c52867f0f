import type { Config, SourceConfig } from "../config/schema.ts";
import { deliverPatchworkWithdrawn } from "../deliver/patchwork/deliver-patchwork.ts";
import { ownMessageIds, type Series } from "../domain/series.ts";
import { patchworkHint } from "../ingest/patchwork/patchwork-hint.ts";
import type { Logger } from "../lib/logger.ts";
import { type CancelFlow, withdrawFlows } from "../queue/cancel-flow.ts";
import { listQueuedFlowsOfSeries } from "../store/flow-repository.ts";
import type { Db } from "../store/open-store.ts";
import { findPatchworkState, type PatchworkClosing } from "../store/patchwork-repository.ts";
import { getSeries } from "../store/series-repository.ts";

export interface WithdrawDeps {
  db: Db;
  config: Config;
  log: Logger;
  cancelFlow: CancelFlow;
  /** Ends the checks a withdrawn flow left pending on patchwork (default: deliverPatchworkWithdrawn). */
  endChecks?: typeof deliverPatchworkWithdrawn;
}

/** Each patchwork source's project with the states that close a series there (its closingStates; the first source of a project counts). */
export function patchworkClosing(sources: readonly SourceConfig[]): PatchworkClosing[] {
  const out = new Map<string, PatchworkClosing>();
  for (const s of sources) {
    if (s.kind !== "patchwork") continue;
    const key = `${s.url.replace(/\/+$/, "")}\0${s.project}`;
    if (!out.has(key)) out.set(key, { instance: s.url, project: s.project, states: s.closingStates });
  }
  return [...out.values()];
}

/**
 * Why a series is not to be run though it is complete (null: it is to be):
 * one of its mails carries `X-Patchwork-Hint: ignore`, or a patchwork
 * source reports one of its patches in one of that source's closingStates.
 */
export async function closedReason(db: Db, series: Series, raw: ReadonlyMap<string, Uint8Array>, closing: readonly PatchworkClosing[]): Promise<string | null> {
  // Only the series' own mails: a partial re-roll carries patches of the version before, which
  // patchwork marks superseded because of this very re-roll.
  const ids = ownMessageIds(series);
  for (const id of ids) {
    const bytes = raw.get(id);
    if (bytes && patchworkHint(bytes) === "ignore") return "X-Patchwork-Hint: ignore";
  }
  const closed = await findPatchworkState(db, ids, closing);
  return closed ? `patchwork: ${closed.state}` : null;
}

/**
 * Withdraw a series' queued flows (the one withdrawal path, withdrawFlows:
 * queued jobs removed, a running flow left to report) and end the patchwork
 * checks each withdrawn flow left pending.
 */
export async function withdrawSeriesFlows(
  deps: WithdrawDeps,
  seriesId: string,
  why: { status: "superseded" | "cancelled"; by: string; /** For people, on patchwork (default: `by`), e.g. "superseded by v3". */ note?: string },
): Promise<{ withdrawn: string[]; running: string[] }> {
  const log = deps.log.child({ seriesId });
  const flows = await listQueuedFlowsOfSeries(deps.db, seriesId);
  if (flows.length === 0) return { withdrawn: [], running: [] };
  const w = await withdrawFlows({ db: deps.db, cancelFlow: deps.cancelFlow, log }, flows, { status: why.status, by: why.by });
  const series = w.withdrawn.length ? await getSeries(deps.db, seriesId) : undefined;
  if (series) {
    for (const flowId of w.withdrawn) {
      await (deps.endChecks ?? deliverPatchworkWithdrawn)({ db: deps.db, config: deps.config, log }, { flowId, series, why: why.note ?? why.by });
    }
  }
  return w;
}
