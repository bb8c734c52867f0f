import type { Config } from "../../config/schema.ts";
import type { Logger } from "../../lib/logger.ts";
import { renderCheckRun } from "../../report/render-check-run.ts";
import { renderPrComment } from "../../report/render-markdown.ts";
import type { Report } from "../../report/report.ts";
import { markDelivery, reserveDelivery } from "../../store/delivery-repository.ts";
import type { Db } from "../../store/open-store.ts";
import { completeCheckRun } from "./check-runs.ts";
import { readGithubAppSettings } from "./github-app-settings.ts";
import { createGithubProbot, type OctokitFor, octokitForProbot } from "./github-client.ts";
import { runPageUrl } from "../../web/run-page-url.ts";
import { getPullState, getTarget, prKey, setPullState, setTarget } from "../../store/github-repository.ts";

export interface DeliverGithubDeps {
  db: Db;
  config: Config;
  log: Logger;
  /** Injected client; default: the app's own (secrets from env). */
  octokitFor?: OctokitFor;
}

/** The link on a check run or comment: github.detailsUrl, else the run's dashboard page when web.publicUrl says where readers reach it. */
export function detailsUrlOf(config: Config, flowId: string): string | null {
  if (config.global.github.detailsUrl) return config.global.github.detailsUrl.replaceAll("{flow}", flowId);
  return runPageUrl(config.global.web, flowId);
}

let defaultClient: { key: string; octokitFor: OctokitFor } | undefined;

function defaultOctokitFor(config: Config, log: Logger): OctokitFor {
  const key = config.global.github.baseUrl;
  if (!defaultClient || defaultClient.key !== key) {
    defaultClient = { key, octokitFor: octokitForProbot(createGithubProbot(readGithubAppSettings(config.global.github), log)) };
  }
  return defaultClient.octokitFor;
}

/**
 * Deliver a finished report to GitHub: complete the flow's check run, or
 * edit the /bench acknowledgement comment in place. Both are updates of
 * one object, so a retried report job repeats them harmlessly; the outbox
 * row records that it happened.
 */
export async function deliverGithub(deps: DeliverGithubDeps, input: { flowId: string; report: Report }): Promise<"check" | "bench" | "none"> {
  const { db, config } = deps;
  const target = await getTarget(db, input.flowId);
  if (!target) {
    deps.log.warn({ flowId: input.flowId }, "github series without a target; nothing delivered to GitHub");
    return "none";
  }
  if (target.state === "cancelled") return "none";
  const octokitFor = deps.octokitFor ?? defaultOctokitFor(config, deps.log);
  const octokit = await octokitFor(target.installationId);
  const where = `${prKey(target.owner, target.repo, target.number)}`;
  const delivery = await reserveDelivery(db, {
    id: `${input.flowId}-github`,
    flowId: input.flowId,
    channel: target.kind === "check" ? "github-check" : "github-comment",
    messageId: null,
    target: where,
  });
  try {
    const detailsUrl = detailsUrlOf(config, input.flowId);
    if (target.kind === "check" && target.checkRunId !== null) {
      const out = renderCheckRun(input.report, { changedFiles: target.changedFiles, detailsUrl });
      const requests = await completeCheckRun(octokit, { owner: target.owner, repo: target.repo, checkRunId: target.checkRunId }, out);
      deps.log.info({ flowId: input.flowId, checkRunId: target.checkRunId, conclusion: out.conclusion, requests }, "check run completed");
    } else if (target.kind === "bench" && target.commentId !== null) {
      const body = renderPrComment(input.report, { marker: `patchbench:${input.flowId}`, request: target.request ?? "/bench", detailsUrl });
      await octokit.request("PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}", {
        owner: target.owner,
        repo: target.repo,
        comment_id: target.commentId,
        body,
      });
      const key = prKey(target.owner, target.repo, target.number);
      const pr = await getPullState(db, key);
      if (pr.pendingBench === input.flowId) await setPullState(db, key, { ...pr, pendingBench: null });
      deps.log.info({ flowId: input.flowId, commentId: target.commentId }, "bench comment edited with results");
    }
    await setTarget(db, input.flowId, { ...target, state: "completed" });
    await markDelivery(db, delivery.id, { ok: true });
    return target.kind;
  } catch (e) {
    await markDelivery(db, delivery.id, { ok: false, error: (e as Error).message });
    throw e;
  }
}
