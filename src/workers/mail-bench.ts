import type { FlowProducer } from "bullmq";
import { estimateBenchSeconds } from "../bot/github-processor.ts";
import { authorizeMail } from "../commands/authorize-bench.ts";
import { BENCH_HELP, parseBenchCommand } from "../commands/parse-bench-command.ts";
import { planBenchRequest } from "../commands/plan-bench-request.ts";
import { pickTree } from "../config/pick-tree.ts";
import type { Config } from "../config/schema.ts";
import { deliverMail } from "../deliver/deliver-mail.ts";
import { stableId } from "../domain/ids.ts";
import type { AssembledMailbox } from "../ingest/mail/assemble-mailbox.ts";
import { parseMessageHeaders } from "../ingest/mail/parse-message.ts";
import type { Logger } from "../lib/logger.ts";
import { enqueueFlow } from "../queue/enqueue-flow.ts";
import { planFlow } from "../queue/plan-flow.ts";
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
}

/**
 * `/bench` by mail: a reply in a series' thread whose body has a `/bench`
 * line. Allowed only for configured maintainers (with DKIM checked when the
 * mail carries Authentication-Results); everyone else is logged and ignored.
 * The same grammar and limits as on GitHub; the answer is one reply mail
 * (the report job is marked as requested, so the quiet policy answers it).
 * Each command is handled once (recorded by Message-ID).
 */
export async function handleMailBenchCommands(deps: MailBenchDeps, box: AssembledMailbox): Promise<string[]> {
  const { db, config, log } = deps;
  const flows: string[] = [];
  const gh = config.global.github;
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
    const auth = authorizeMail(
      { from: r.from, authenticationResults },
      { maintainers: gh.bench.maintainers, trustedAuthservIds: gh.bench.trustedAuthservIds },
    );
    if (!auth.allowed) {
      log.info({ messageId: r.messageId, from: r.from, reason: auth.reason }, "/bench by mail ignored");
      await done(`ignored: ${auth.reason}`);
      continue;
    }
    const series = box.series.find((s) => s.id === r.seriesId);
    const answer = async (text: string) => {
      const flowId = stableId("mailcmd", r.messageId);
      await deliverMail(
        { db, log },
        flowId,
        {
          from: config.global.mail.from,
          to: [r.from],
          cc: [],
          subject: /^re:/i.test(r.subject) ? r.subject : `Re: ${r.subject}`,
          inReplyTo: r.messageId,
          references: [r.messageId],
          text,
          headers: { "X-Patchbench-Command": "bench" },
        },
        {
          dryRun: config.global.mail.dryRun,
          outboxDir: config.paths.outboxDir,
          smtp: { ...config.global.mail.smtp, password: config.secrets.smtpPassword },
        },
        { action: "send", to: [r.from], cc: [], reasons: ["answer to a /bench request"] },
      );
    };
    const parsed = parseBenchCommand(r.command);
    if (parsed.kind === "help" || parsed.kind === "none") {
      await answer(`${BENCH_HELP}\n`);
      await done("help");
      continue;
    }
    if (parsed.kind === "error") {
      await answer(`patchbench: I could not read that /bench: ${parsed.message}\n\n${BENCH_HELP}\n`);
      await done(`error: ${parsed.message}`);
      continue;
    }
    if (!series) {
      await answer("patchbench: this /bench is not in the thread of a patch series I know; reply to the cover letter or a patch.\n");
      await done("no series");
      continue;
    }
    const tree = pickTree(series, config.trees, config.global.defaultTree);
    const planned = planBenchRequest(tree.bench, parsed.request, gh.bench, tree.pool, estimateBenchSeconds);
    if (!planned.ok) {
      await answer(`patchbench: I cannot run that /bench: ${planned.message}\n`);
      await done(`refused: ${planned.message}`);
      continue;
    }
    await saveSeries(db, series, box.raw);
    const plan = planFlow({
      series,
      raw: box.raw,
      tree: { ...tree, pool: planned.pool },
      installationId: `${deps.installationId}-mailbench-${stableId("m", r.messageId)}`,
      bench: planned.bench,
    });
    plan.job.data = { ...(plan.job.data as object), request: { by: r.from } };
    const e = await enqueueFlow({ db, flows: deps.flows, log }, plan);
    await done(`flow ${e.flowId}`);
    log.info({ messageId: r.messageId, from: r.from, flowId: e.flowId }, "/bench by mail queued");
    flows.push(e.flowId);
  }
  return flows;
}
