import { type Job, UnrecoverableError } from "bullmq";
import { z } from "zod";
import type { Config } from "../config/schema.ts";
import { deliverReportMail } from "../deliver/deliver-report-mail.ts";
import { deliverGithub } from "../deliver/github/deliver-github.ts";
import { deliverPatchwork } from "../deliver/patchwork/deliver-patchwork.ts";
import type { MailDecision } from "../deliver/mail-policy.ts";
import type { Logger } from "../lib/logger.ts";
import { reportJobSchema } from "../queue/payloads.ts";
import type { Report } from "../report/report.ts";
import { renderText } from "../report/render-text.ts";
import { setFlowStatus } from "../store/flow-repository.ts";
import type { Db } from "../store/open-store.ts";
import { saveFlowResults } from "../store/result-repository.ts";
import { getSeries } from "../store/series-repository.ts";
import { runPageUrl } from "../web/run-page-url.ts";
import { buildFlowReport } from "./build-flow-report.ts";
import { loadPreviousVersion } from "./load-previous-version.ts";
import { previousResults } from "./previous-results.ts";

export interface ReportOutcome {
  flowId: string;
  status: Report["status"];
  headline: string;
  emlPath: string;
  messageId: string;
  text: string;
  /** The mail policy's decision: sent (to whom) or held in the outbox, and why. */
  mail: MailDecision;
}


/**
 * The report job (parent of a flow): runs once after every stage finished.
 * Stores results, decides verdicts, renders, delivers through the outbox.
 * Safe to repeat: results are replaced, the mail goes out once.
 */
export function createReportProcessor(deps: { db: Db; config: Config; log: Logger; deliverGithub?: typeof deliverGithub; deliverPatchwork?: typeof deliverPatchwork }) {
  return async (job: Job): Promise<ReportOutcome> => {
    const parsed = reportJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid report job data: ${parsed.error.message}`);
    const { flowId, seriesId, tree: treeName } = parsed.data;
    const log = deps.log.child({ flowId, seriesId });
    const series = await getSeries(deps.db, seriesId);
    if (!series) throw new UnrecoverableError(`series ${seriesId} is not in the store`);
    const tree = deps.config.trees.find((t) => t.name === treeName);
    const { results, errors } = await previousResults(job);

    const previous = await loadPreviousVersion(deps.db, series);
    const { report, analysis } = buildFlowReport({ flowId, series, results, errors, generatedAt: new Date().toISOString(), previous });
    const benchData = results.find((r) => r.stage === "bench")?.data;
    const text = renderText(report, { detailsUrl: runPageUrl(deps.config.global.web, flowId) });

    await saveFlowResults(deps.db, flowId, {
      results,
      samples: benchData?.samples ?? [],
      verdicts: (analysis?.cells ?? []).map((c) => ({ cell: c.key, verdict: c.analysis.verdict, data: c.analysis })),
    });

    // A tree tip is a point of the tree's history: stored, never mailed or posted (the history says what moved).
    if (series.source === "tree") {
      await setFlowStatus(deps.db, flowId, report.status, true);
      log.info({ status: report.status, headline: report.headline }, "tree tip measured");
      return { flowId, status: report.status, headline: report.headline, emlPath: "", messageId: "", text, mail: { action: "hold", reasons: ["a tree tip is not mailed"] } };
    }
    // Mail: quiet-by-default policy, rate limits, exactly-once outbox.
    const request = z.object({ by: z.string().nullable().default(null), messageId: z.string().nullable().default(null) }).nullable().default(null).safeParse((job.data as { request?: unknown }).request ?? null);
    const delivered = await deliverReportMail(
      { db: deps.db, log },
      { flowId, series, report, text, tree, config: deps.config, request: request.success ? request.data : null },
    );
    // GitHub: the PR's check run or /bench comment, updated in place.
    if (series.source === "github") await (deps.deliverGithub ?? deliverGithub)({ db: deps.db, config: deps.config, log }, { flowId, report });
    // Patchwork: checks on the series' patches there (found by Message-ID), posted only when changed.
    await (deps.deliverPatchwork ?? deliverPatchwork)({ db: deps.db, config: deps.config, log }, { flowId, series, report });
    await setFlowStatus(deps.db, flowId, report.status, true);
    log.info({ status: report.status, headline: report.headline, eml: delivered.path, mailed: delivered.sent, held: delivered.held }, "report done");
    return { flowId, status: report.status, headline: report.headline, emlPath: delivered.path, messageId: delivered.messageId, text, mail: delivered.decision };
  };
}
