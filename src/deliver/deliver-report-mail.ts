import type { Config, TreeConfig } from "../config/schema.ts";
import type { Series } from "../domain/series.ts";
import type { Logger } from "../lib/logger.ts";
import type { Report } from "../report/report.ts";
import type { Db } from "../store/open-store.ts";
import { type DeliveredMail, deliverMail, envelopeAddresses, type SendDeps } from "./deliver-mail.ts";
import { countRecentMail } from "../store/delivery-repository.ts";
import { bareAddress, decideMail, type MailDecision } from "./mail-policy.ts";

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

/**
 * Who asked with `/bench` (set on the report job by the command path); absent for mail-triggered
 * runs. The answer is a reply to the asking mail, to its sender, the usual recipients in copy.
 */
export interface ReportRequest {
  by: string | null;
  /** The asking mail's Message-ID (without <>), when it came by mail. */
  messageId?: string | null;
}

export interface ReportMailInput {
  flowId: string;
  series: Pick<Series, "id" | "author" | "syntheticMessageIds" | "source">;
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
  const usual = {
    to: resolveRecipients(input.tree?.recipients.to ?? ["author"], input.series.author, lists),
    cc: resolveRecipients(input.tree?.recipients.cc ?? [], input.series.author, lists),
  };
  // An answer goes to the one who asked, the usual recipients in copy.
  const asker = input.request?.by ?? null;
  const to = asker ? [asker] : usual.to;
  const cc = asker ? [...usual.to, ...usual.cc].filter((a, i, all) => bareAddress(a) !== bareAddress(asker) && all.findIndex((b) => bareAddress(b) === bareAddress(a)) === i) : usual.cc;
  const asked = input.request?.messageId ?? null;
  const thread = input.report.thread;
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
      pullRequest: input.series.source === "github",
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
      subject: thread.subject,
      inReplyTo: asked ?? thread.inReplyTo,
      references: asked ? [...thread.references.filter((r) => r !== asked), asked] : thread.references,
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
