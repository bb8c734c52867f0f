import type { Config } from "../../config/schema.ts";
import type { Series } from "../../domain/series.ts";
import type { Logger } from "../../lib/logger.ts";
import type { Report } from "../../report/report.ts";
import { markDelivery, reserveDelivery } from "../../store/delivery-repository.ts";
import type { Db } from "../../store/open-store.ts";
import { type ApplyOutcome, applyPatchworkChecks } from "./apply-patchwork-checks.ts";
import { createPatchworkClient, type PatchworkClient } from "../../lib/patchwork-client.ts";
import type { Stage } from "../../domain/results.ts";
import { type PatchTarget, planPatchworkChecks, planPendingChecks } from "./plan-patchwork-checks.ts";

export interface DeliverPatchworkDeps {
  db: Db;
  config: Config;
  log: Logger;
  /** Where the token is read (default process.env), by the name patchwork.tokenEnv gives. */
  env?: NodeJS.ProcessEnv;
  /** Injected client; default: one built from the config. */
  client?: PatchworkClient;
}

/** The patchwork patch of each of our patches, found by Message-ID in the project; patches patchwork lacks are left out. */
export async function findPatchTargets(client: PatchworkClient, project: string, series: Series, log: Logger): Promise<PatchTarget[]> {
  const out: PatchTarget[] = [];
  for (const p of series.patches) {
    const hits = await client.list<{ id: number }>("patches/", { project, msgid: p.messageId });
    const hit = hits[0];
    if (hit) out.push({ index: p.index, patchId: hit.id });
    else log.info({ seriesId: series.id, patch: p.index, messageId: p.messageId }, "patchwork does not have this patch; no check for it");
  }
  return out;
}

function targetUrlOf(config: Config, flowId: string, series: Series): string | null {
  const t = config.global.patchwork.targetUrl;
  if (t) return t.replaceAll("{flow}", flowId);
  const anchor = series.cover?.messageId ?? series.patches[0]?.messageId;
  return anchor ? `https://lore.kernel.org/all/${encodeURIComponent(anchor)}/` : null;
}

/**
 * Post a finished report to patchwork as checks on the series' patches.
 * Safe to repeat (applyPatchworkChecks posts only what changed). A refused
 * token or a user who may not post checks is logged as an error and ends
 * here, not retried; patchwork staying unavailable throws, so the report
 * job's own bounded retries take over.
 */
export async function deliverPatchwork(deps: DeliverPatchworkDeps, input: { flowId: string; series: Series; report: Report }): Promise<ApplyOutcome | null> {
  const pw = deps.config.global.patchwork;
  // A pull request's patches have no mail Message-IDs patchwork could know.
  if (!pw.enabled || input.series.source === "github") return null;
  const log = deps.log.child({ channel: "patchwork" });
  const token = (deps.env ?? process.env)[pw.tokenEnv] ?? "";
  if (!deps.client && token === "") {
    log.error({ tokenEnv: pw.tokenEnv }, "patchwork.enabled, but the token's environment variable is empty: no checks posted");
    return null;
  }
  const client = deps.client ?? createPatchworkClient({ url: pw.url, token, tokenSource: `env ${pw.tokenEnv}`, log });
  const delivery = await reserveDelivery(deps.db, {
    id: `${input.flowId}-patchwork`,
    flowId: input.flowId,
    channel: "patchwork",
    messageId: null,
    target: `${client.url}/project/${pw.project}`,
  });
  try {
    const patches = await findPatchTargets(client, pw.project, input.series, log);
    const planned = planPatchworkChecks(input.report, patches, { prefix: pw.contextPrefix, targetUrl: targetUrlOf(deps.config, input.flowId, input.series) });
    const outcome = await applyPatchworkChecks(client, planned, log);
    await markDelivery(deps.db, delivery.id, { ok: true });
    log.info({ flowId: input.flowId, patches: patches.length, ...outcome }, "patchwork checks delivered");
    return outcome;
  } catch (e) {
    await markDelivery(deps.db, delivery.id, { ok: false, error: (e as Error).message });
    const code = (e as { code?: string }).code;
    if ((e as Error).name === "PatchworkError" && (code === "auth" || code === "forbidden" || code === "bad-request")) {
      log.error({ flowId: input.flowId, code, err: (e as Error).message }, "patchwork refused the checks; not retried");
      return null;
    }
    throw e;
  }
}

/**
 * `pending` on the series' patches for a stage a runner just started
 * (the report ends it). Best effort: a failure is logged, never thrown,
 * as the stage runs either way.
 */
export async function deliverPatchworkPending(deps: DeliverPatchworkDeps, input: { flowId: string; series: Series; stage: Stage }): Promise<ApplyOutcome | null> {
  const pw = deps.config.global.patchwork;
  if (!pw.enabled || input.series.source === "github") return null;
  const log = deps.log.child({ channel: "patchwork", flowId: input.flowId, stage: input.stage });
  const token = (deps.env ?? process.env)[pw.tokenEnv] ?? "";
  if (!deps.client && token === "") return null;
  const client = deps.client ?? createPatchworkClient({ url: pw.url, token, tokenSource: `env ${pw.tokenEnv}`, log });
  try {
    const patches = await findPatchTargets(client, pw.project, input.series, log);
    const planned = planPendingChecks([input.stage], patches, { prefix: pw.contextPrefix, targetUrl: targetUrlOf(deps.config, input.flowId, input.series) });
    return await applyPatchworkChecks(client, planned, log);
  } catch (e) {
    log.warn({ err: (e as Error).message }, "could not post the pending check to patchwork");
    return null;
  }
}
