import type { FlowProducer } from "bullmq";
import { authorizeMail } from "../commands/authorize-bench.ts";
import { benchPolicyOf, type BenchRequestInput, handleBenchRequest, seriesProgramsAsked, settleBenchDecision } from "../commands/handle-bench-request.ts";
import { readCandidateBpfPrograms, seriesPatchMails, treeRepos } from "../commands/read-candidate-bpf-programs.ts";
import { benchEstimatorFor } from "../commands/bench-estimator.ts";
import { pickTree } from "../config/pick-tree.ts";
import type { Config } from "../config/schema.ts";
import { deliverMail } from "../deliver/deliver-mail.ts";
import { stableId } from "../domain/ids.ts";
import type { AssembledMailbox } from "../ingest/mail/assemble-mailbox.ts";
import { parseMessageHeaders } from "../ingest/mail/parse-message.ts";
import { describeError } from "../lib/errors.ts";
import { git as defaultGit, type Git } from "../lib/git.ts";
import type { Logger } from "../lib/logger.ts";
import type { BenchLimiter } from "../queue/bench-limiter.ts";
import { enqueueFlow } from "../queue/enqueue-flow.ts";
import { planFlow } from "../queue/plan-flow.ts";
import { knownApplyFailure } from "../commands/known-apply-failure.ts";
import { listFlowsOfSeries } from "../store/flow-repository.ts";
import { getCursor, setCursor } from "../store/cursor-repository.ts";
import type { Db } from "../store/open-store.ts";
import { saveSeries } from "../store/series-repository.ts";

const HANDLED = "mail-bench";

export interface MailBenchDeps {
  db: Db;
  config: Config;
  flows: FlowProducer;
  log: Logger;
  installationId: string;
  limiter: BenchLimiter;
  /** Reads the series' base tree from the orchestrator's repositories (an arm naming the series' BPF programs). */
  git?: Git;
}

/**
 * The mail adapter of `/bench` (src/commands/handle-bench-request.ts decides):
 * a reply in a series' thread whose body has a `/bench` line. Translates the
 * mail (From, our MTA's Authentication-Results, the thread's series) into a
 * request and carries out the answer: one reply mail, or a flow whose report
 * job is marked as requested (so the quiet policy answers it). Mail that is
 * not authenticated is logged and never answered. Each command is handled
 * once (recorded by Message-ID).
 */
export async function handleMailBenchCommands(deps: MailBenchDeps, box: AssembledMailbox): Promise<string[]> {
  const { db, config, log } = deps;
  const flows: string[] = [];
  for (const r of box.replies) {
    if (r.kind !== "command" || !r.command) continue;
    if (await getCursor(db, HANDLED, r.messageId)) continue;
    const done = (outcome: string) => setCursor(db, HANDLED, r.messageId, outcome);
    const raw = box.raw.get(r.messageId);
    let authenticationResults: string[] = [];
    try {
      if (raw) authenticationResults = parseMessageHeaders(raw).headers.authenticationResults;
    } catch {
      authenticationResults = [];
    }
    const series = box.series.find((s) => s.id === r.seriesId);
    const tree = series ? pickTree(series, config.trees, config.global.defaultTree) : null;
    const earlier = series ? await listFlowsOfSeries(db, series.id) : [];
    const estimator = await benchEstimatorFor(db, tree?.name ?? "", series?.baseCommit ?? null, earlier);
    const policy = benchPolicyOf(config, estimator.estimateSeconds);
    // Only a maintainer's arm naming the series' BPF programs needs the candidate tree's; unknown (null) is accepted.
    const asks =
      series !== undefined &&
      tree !== null &&
      seriesProgramsAsked(r.command).length > 0 &&
      authorizeMail({ from: r.from, authenticationResults }, { maintainers: policy.maintainers, trustedAuthservIds: policy.trustedAuthservIds }).allowed;
    const candidatePrograms =
      asks && series && tree
        ? await seriesPatchMails(db, series, box.raw)
            .then((patches) => readCandidateBpfPrograms(deps.git ?? defaultGit, { repos: treeRepos(tree, config.paths.workDir), baseCommit: series.baseCommit, patches }))
            .catch((err: unknown) => {
              log.warn({ messageId: r.messageId, err: describeError(err) }, "/bench by mail: the candidate tree's BPF programs could not be read");
              return null;
            })
        : null;
    const input: BenchRequestInput = {
      sender: { channel: "mail", from: r.from, authenticationResults },
      command: r.command,
      place: `thread:${series?.id ?? r.messageId}`,
      tree: tree ? { bench: tree.bench, stages: tree.stages, pool: tree.pool } : null,
      pending: null,
      candidatePrograms,
    };
    const d = await settleBenchDecision(handleBenchRequest(input, policy), input, policy, (g) => deps.limiter.consume(g));
    const who = { messageId: r.messageId, from: r.from };
    if (d.kind === "ignore" || d.kind === "silent") {
      const reason = d.kind === "silent" ? d.reason : "not a /bench";
      if (d.kind === "silent" && d.quiet) log.debug({ ...who, reason }, "/bench by mail refused; not answered");
      else log.warn({ ...who, reason }, "/bench by mail refused; not answered");
      await done(`ignored: ${reason}`);
      continue;
    }
    // A series whose earlier flow did not apply would only fail again: answered at once, nothing queued.
    const failed = d.kind === "run" && series ? await knownApplyFailure(db, earlier) : null;
    const reply =
      d.kind === "reply"
        ? { text: d.reply, reason: d.reason }
        : failed
          ? {
              text: `patchbench: nothing to benchmark: this series does not apply.\n\n  ${failed.summary.split("\n")[0]}\n  (flow ${failed.flowId})\n\nSend a version that applies and ask again.\n`,
              reason: "does not apply",
            }
          : null;
    if (reply) {
      await deliverMail(
        { db, log },
        stableId("mailcmd", r.messageId),
        {
          from: config.global.mail.from,
          to: [r.from],
          cc: [],
          subject: /^re:/i.test(r.subject) ? r.subject : `Re: ${r.subject}`,
          inReplyTo: r.messageId,
          references: [r.messageId],
          text: reply.text,
          headers: { "X-Patchbench-Command": "bench" },
        },
        {
          dryRun: config.global.mail.dryRun,
          outboxDir: config.paths.outboxDir,
          smtp: { ...config.global.mail.smtp, password: config.secrets.smtpPassword },
        },
        { action: "send", to: [r.from], cc: [], reasons: ["answer to a /bench request"] },
      );
      log.info({ ...who, reason: reply.reason }, "/bench by mail answered");
      await done(reply.reason);
      continue;
    }
    if (d.kind !== "run") continue;
    // A run: the decision had a tree, so the series exists.
    await saveSeries(db, series!, box.raw);
    const plan = planFlow({
      series: series!,
      raw: box.raw,
      caps: config.global.ingest,
      tree: { ...tree!, pool: d.pool, stages: d.stages },
      installationId: `${deps.installationId}-mailbench-${stableId("m", r.messageId)}`,
      bench: d.bench,
    });
    plan.job.data = { ...(plan.job.data as object), request: { by: r.from, messageId: r.messageId } };
    const e = await enqueueFlow({ db, flows: deps.flows, log }, plan);
    await done(`flow ${e.flowId}`);
    log.info({ ...who, flowId: e.flowId, reason: d.reason }, "/bench by mail queued");
    flows.push(e.flowId);
  }
  return flows;
}
