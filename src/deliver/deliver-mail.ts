import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import nodemailer from "nodemailer";
import { stableId } from "../domain/ids.ts";
import type { Logger } from "../lib/logger.ts";
import { markDelivery, reserveDelivery } from "../store/delivery-repository.ts";
import type { Db } from "../store/open-store.ts";
import { composeMail, type MailMessage } from "./compose-mail.ts";

export interface MailSettings {
  dryRun: boolean;
  outboxDir: string;
  smtp: { host: string; port: number; secure: boolean; user: string | null; password: string | null };
}

export interface DeliveredMail {
  deliveryId: string;
  messageId: string;
  /** The .eml written to the outbox (always written, also when sent). */
  path: string;
  sent: boolean;
  /** True when an earlier attempt already delivered it. */
  already: boolean;
}

/**
 * Deliver one report mail exactly once. The outbox row, keyed by the report
 * id and carrying the Message-ID, is written before anything leaves; a
 * retried job finds it marked sent and does nothing. A crash after sending
 * but before marking re-sends the same Message-ID, which lists and
 * public-inbox treat as the same message.
 */
export async function deliverMail(
  deps: { db: Db; log: Logger; now?: () => Date },
  flowId: string,
  message: Omit<MailMessage, "messageId">,
  settings: MailSettings,
): Promise<DeliveredMail> {
  const domain = /@([^>\s]+)>?\s*$/.exec(message.from)?.[1] ?? "patchbench.invalid";
  const messageId = `${flowId}.report@${domain}`;
  const deliveryId = stableId("delivery", flowId, "mail");
  const path = join(settings.outboxDir, `${flowId}.eml`);
  const row = await reserveDelivery(deps.db, {
    id: deliveryId,
    flowId,
    channel: settings.dryRun ? "outbox" : "smtp",
    messageId,
    target: [...message.to, ...message.cc].join(", "),
  });
  if (row.status === "sent") {
    deps.log.info({ flowId, messageId }, "report mail already delivered; not sending again");
    return { deliveryId, messageId, path, sent: !settings.dryRun, already: true };
  }
  const raw = await composeMail({ ...message, messageId }, (deps.now ?? (() => new Date()))());
  mkdirSync(settings.outboxDir, { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, raw);
  renameSync(tmp, path);
  if (settings.dryRun) {
    await markDelivery(deps.db, deliveryId, { ok: true });
    deps.log.info({ flowId, path }, "report written to the outbox (dry run)");
    return { deliveryId, messageId, path, sent: false, already: false };
  }
  const transport = nodemailer.createTransport({
    host: settings.smtp.host,
    port: settings.smtp.port,
    secure: settings.smtp.secure,
    ...(settings.smtp.user ? { auth: { user: settings.smtp.user, pass: settings.smtp.password ?? "" } } : {}),
  });
  try {
    await transport.sendMail({
      envelope: { from: message.from, to: [...message.to, ...message.cc] },
      raw,
    });
  } catch (e) {
    await markDelivery(deps.db, deliveryId, { ok: false, error: (e as Error).message });
    throw e;
  }
  await markDelivery(deps.db, deliveryId, { ok: true });
  deps.log.info({ flowId, messageId }, "report mail sent");
  return { deliveryId, messageId, path, sent: true, already: false };
}
