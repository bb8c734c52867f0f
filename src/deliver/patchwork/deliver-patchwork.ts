import { randomUUID } from "node:crypto";
import type { Config } from "../../config/schema.ts";
import type { Series } from "../../domain/series.ts";
import type { Logger } from "../../lib/logger.ts";
import type { Report } from "../../report/report.ts";
import { claimDelivery, finishDelivery, markDelivery, reserveDelivery } from "../../store/delivery-repository.ts";
import type { Db } from "../../store/open-store.ts";
import { listPatchworkMails, rememberPatchworkMails } from "../../store/patchwork-repository.ts";
import { claimPendingChecks, listWantedChecks, markFinalChecksPosted, recordFinalChecks, type WantedCheck } from "../../store/patchwork-check-repository.ts";
import { type ApplyOutcome, applyPatchworkChecks } from "./apply-patchwork-checks.ts";
import { createPatchworkClient, type PatchworkClient } from "../../lib/patchwork-client.ts";
import type { Stage } from "../../domain/results.ts";
import { type PatchTarget, type PlannedCheck, planPatchworkChecks, planPendingChecks, planWithdrawnChecks } from "./plan-patchwork-checks.ts";
import { runPageUrl } from "../../web/run-page-url.ts";

export interface DeliverPatchworkDeps {
  db: Db;
  config: Config;
  log: Logger;
  /** Where the token is read (default process.env), by the name patchwork.tokenEnv gives. */
  env?: NodeJS.ProcessEnv;
  /** Injected client; default: one built from the config. */
  client?: PatchworkClient;
}

/**
 * The patchwork patch of each of our patches: the id stored when the patch
 * came through the patchwork source (or an earlier look-up), else found by
 * Message-ID in the project and stored. Patches patchwork lacks are left out.
 */
export async function findPatchTargets(client: PatchworkClient, project: string, series: Series, log: Logger, db?: Db): Promise<PatchTarget[]> {
  const scope = { instance: client.url, project };
  const stored = db ? await listPatchworkMails(db, scope, series.patches.map((p) => p.messageId)) : [];
  const out: PatchTarget[] = [];
  const found: { messageId: string; patchId: number }[] = [];
  for (const p of series.patches) {
    const have = stored.find((r) => r.messageId === p.messageId)?.patchId;
    if (have != null) {
      out.push({ index: p.index, patchId: have });
      continue;
    }
    const hit = (await client.list<{ id: number }>("patches/", { project, msgid: p.messageId }))[0];
    if (hit) {
      out.push({ index: p.index, patchId: hit.id });
      found.push({ messageId: p.messageId, patchId: hit.id });
    } else log.info({ seriesId: series.id, patch: p.index, messageId: p.messageId }, "patchwork does not have this patch; no check for it");
  }
  if (db && found.length) await rememberPatchworkMails(db, scope, found);
  return out;
}

/** patchwork.targetUrl, else the run's dashboard page (when web.publicUrl is set), else the series on lore. */
function targetUrlOf(config: Config, flowId: string, series: Series): string | null {
  const t = config.global.patchwork.targetUrl;
  if (t) return t.replaceAll("{flow}", flowId);
  const page = runPageUrl(config.global.web, flowId);
  if (page) return page;
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
    const patches = await findPatchTargets(client, pw.project, input.series, log, deps.db);
    const planned = planPatchworkChecks(input.report, patches, { prefix: pw.contextPrefix, targetUrl: targetUrlOf(deps.config, input.flowId, input.series) });
    const scope = { instance: client.url, project: pw.project };
    await recordFinalChecks(deps.db, scope, input.flowId, planned.map(wantedOf));
    const outcome = await applyPatchworkChecks(client, planned, log, { settled: (c) => markFinalChecksPosted(deps.db, scope, input.flowId, [c]) });
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

const wantedOf = (c: PlannedCheck): WantedCheck => ({ ...c, onlyOverPending: c.onlyOverPending === true });
const plannedOf = (w: WantedCheck): PlannedCheck => ({
  patchId: w.patchId,
  context: w.context,
  state: w.state as PlannedCheck["state"],
  description: w.description,
  targetUrl: w.targetUrl,
  ...(w.onlyOverPending ? { onlyOverPending: true } : {}),
});

/** A pending claim older than this may be taken over (its holder died before posting). */
const PENDING_CLAIM_MS = 10 * 60_000;

/**
 * `pending` on the series' patches for a stage a runner just started
 * (the report ends it). Every orchestrator hears the runner take the job;
 * the one that claims the stage's row in the store's outbox posts, so the
 * pending check goes out once however many run (a retried stage finds the
 * row sent and posts nothing). Best effort: a failure is logged, never
 * thrown, as the stage runs either way.
 */
export async function deliverPatchworkPending(deps: DeliverPatchworkDeps, input: { flowId: string; series: Series; stage: Stage }): Promise<ApplyOutcome | null> {
  const pw = deps.config.global.patchwork;
  if (!pw.enabled || input.series.source === "github") return null;
  const log = deps.log.child({ channel: "patchwork", flowId: input.flowId, stage: input.stage });
  const token = (deps.env ?? process.env)[pw.tokenEnv] ?? "";
  if (!deps.client && token === "") return null;
  const client = deps.client ?? createPatchworkClient({ url: pw.url, token, tokenSource: `env ${pw.tokenEnv}`, log });
  const id = `${input.flowId}-patchwork-pending-${input.stage}`;
  const claimId = randomUUID();
  try {
    await reserveDelivery(deps.db, { id, flowId: input.flowId, channel: "patchwork", messageId: null, target: `${client.url}/project/${pw.project}` });
    if (!(await claimDelivery(deps.db, id, { claimId, now: new Date(), leaseMs: PENDING_CLAIM_MS }))) {
      log.debug("pending check already claimed by another orchestrator (or sent)");
      return null;
    }
    const patches = await findPatchTargets(client, pw.project, input.series, log, deps.db);
    const planned = planPendingChecks([input.stage], patches, { prefix: pw.contextPrefix, targetUrl: targetUrlOf(deps.config, input.flowId, input.series) });
    const scope = { instance: client.url, project: pw.project };
    // Only contexts this flow has not ended yet; a context it ends meanwhile stops the POST and its retries.
    const open = new Set((await claimPendingChecks(deps.db, scope, input.flowId, planned.map(wantedOf))).map((c) => `${c.patchId}\0${c.context}`));
    const lost = async (c: PlannedCheck) => (await listWantedChecks(deps.db, scope, [c])).some((w) => w.final && w.flowId === input.flowId);
    try {
      const out = await applyPatchworkChecks(client, planned.filter((c) => open.has(`${c.patchId}\0${c.context}`)), log, { lost });
      await finishDelivery(deps.db, id, claimId, { ok: true, at: new Date() });
      return out;
    } finally {
      // A pending that landed after the flow's final check (a retried 502, a slow proxy) would stay on
      // show: the final one is posted again over it. Only a final patchwork was seen to show: one still
      // in flight lands over the pending by itself, and posting it here too would post it twice.
      const ended = (await listWantedChecks(deps.db, scope, planned)).filter((w) => w.final && w.flowId === input.flowId && w.postedAt !== null);
      if (ended.length) {
        const again = await applyPatchworkChecks(client, ended.map((w) => ({ ...plannedOf(w), onlyOverPending: true })), log);
        if (again.posted) log.info({ posted: again.posted }, "a pending check landed after the final one; the final one is posted again");
      }
    }
  } catch (e) {
    await finishDelivery(deps.db, id, claimId, { ok: false, error: (e as Error).message }).catch(() => {});
    log.warn({ err: (e as Error).message }, "could not post the pending check to patchwork");
    return null;
  }
}

/**
 * End the checks a withdrawn flow left pending (planWithdrawnChecks says
 * how and why). Safe to repeat: only contexts still pending get a check.
 * Best effort, as the withdrawal stands either way: a failure is logged.
 */
export async function deliverPatchworkWithdrawn(deps: DeliverPatchworkDeps, input: { flowId: string; series: Series; why: string }): Promise<ApplyOutcome | null> {
  const pw = deps.config.global.patchwork;
  if (!pw.enabled || input.series.source === "github") return null;
  const log = deps.log.child({ channel: "patchwork", flowId: input.flowId });
  const token = (deps.env ?? process.env)[pw.tokenEnv] ?? "";
  if (!deps.client && token === "") return null;
  const client = deps.client ?? createPatchworkClient({ url: pw.url, token, tokenSource: `env ${pw.tokenEnv}`, log });
  const delivery = await reserveDelivery(deps.db, { id: `${input.flowId}-patchwork`, flowId: input.flowId, channel: "patchwork", messageId: null, target: `${client.url}/project/${pw.project}` });
  try {
    const patches = await findPatchTargets(client, pw.project, input.series, log, deps.db);
    const planned = planWithdrawnChecks(input.why, patches, { prefix: pw.contextPrefix, targetUrl: targetUrlOf(deps.config, input.flowId, input.series) });
    const scope = { instance: client.url, project: pw.project };
    await recordFinalChecks(deps.db, scope, input.flowId, planned.map(wantedOf));
    const out = await applyPatchworkChecks(client, planned, log, { settled: (c) => markFinalChecksPosted(deps.db, scope, input.flowId, [c]) });
    await markDelivery(deps.db, delivery.id, { ok: true });
    log.info({ why: input.why, ...out }, "withdrawn flow's pending patchwork checks ended");
    return out;
  } catch (e) {
    await markDelivery(deps.db, delivery.id, { ok: false, error: (e as Error).message });
    log.warn({ err: (e as Error).message }, "could not end the withdrawn flow's pending checks on patchwork");
    return null;
  }
}
