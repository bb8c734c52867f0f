import type { Config, TreeConfig } from "../config/schema.ts";
import type { Series } from "../domain/series.ts";
import type { Logger } from "../lib/logger.ts";
import type { Report } from "../report/report.ts";
import type { Db } from "../store/open-store.ts";
import { type DeliveredMail, deliverMail, envelopeAddresses, type SendDeps } from "./deliver-mail.ts";
import { countRecentMail } from "./mail-outbox.ts";
import { decideMail, type MailDecision } from "./mail-policy.ts";

/** Resolve "author" / "list" / addresses of the tree config ("list" is the tree's first list). */
export function resolveRecipients(list: readonly string[], author: string, lists: readonly string[]): string[] {
  const out: string[] = [];
  for (const r of list) {
    if (r === "author") out.push(author);
    else if (r === "list") out.push(...lists.slice(0, 1));
    else out.push(r);
  }
  return [...new Set(out.filter(Boolean))];
}

/** Who asked with `/bench` (set on the report job by the command path); absent for mail-triggered runs. */
export interface ReportRequest {
  by: string | null;
}

export interface ReportMailInput {
  flowId: string;
  series: Pick<Series, "id" | "author" | "syntheticMessageIds">;
  report: Report;
  text: string;
  tree: TreeConfig | undefined;
  config: Pick<Config, "global" | "paths" | "secrets">;
  request: ReportRequest | null;
  /** Claims the measurements did not reproduce; default: counted from report.claims. */
  unreproducedClaims?: number;
}

/**
 * The report job's mail: recipients from the tree config, our identity and
 * X-Patchbench-* headers (the ingest classifier files any mail carrying one
 * as our own bot mail), the quiet-by-default policy with rate limits counted
 * from the outbox, then exactly-once delivery.
 */
export async function deliverReportMail(
  deps: SendDeps & { db: Db; log: Logger },
  input: ReportMailInput,
): Promise<DeliveredMail & { decision: MailDecision }> {
  const mail = input.config.global.mail;
  const lists = input.tree?.lists ?? [];
  const to = resolveRecipients(input.tree?.recipients.to ?? ["author"], input.series.author, lists);
  const cc = resolveRecipients(input.tree?.recipients.cc ?? [], input.series.author, lists);
  const now = (deps.now ?? (() => new Date()))();
  const since = new Date(now.getTime() - mail.rateLimit.windowHours * 3600_000);
  const recent = await countRecentMail(deps.db, { seriesId: input.series.id, lists: envelopeAddresses(lists), since });
  const decision = decideMail(
    {
      report: input.report,
      requested: input.request !== null,
      requestedBy: input.request?.by ?? null,
      unreproducedClaims:
        input.unreproducedClaims ?? (input.report.claims ?? []).filter((c) => c.verdict === "not reproduced").length,
      to,
      cc,
      author: input.series.author,
      lists,
      sentToThread: recent.thread,
      sentToList: recent.perList,
      unposted: input.series.syntheticMessageIds === true,
    },
    { quiet: mail.quiet, ...mail.rateLimit },
  );
  const delivered = await deliverMail(
    deps,
    input.flowId,
    {
      from: mail.from,
      to,
      cc,
      subject: input.report.thread.subject,
      inReplyTo: input.report.thread.inReplyTo,
      references: input.report.thread.references,
      text: input.text,
      headers: {
        "X-Patchbench-Report": input.flowId,
        "X-Patchbench-Series": input.series.id,
        "X-Patchbench-Status": input.report.status,
      },
    },
    {
      dryRun: mail.dryRun,
      outboxDir: input.config.paths.outboxDir,
      smtp: { ...mail.smtp, password: input.config.secrets.smtpPassword },
    },
    decision,
  );
  return { ...delivered, decision };
}
