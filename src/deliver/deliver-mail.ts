import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import nodemailer from "nodemailer";
import addressparser from "nodemailer/lib/addressparser/index.js";
import { stableId } from "../domain/ids.ts";
import { infraError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import { claimDelivery, type Delivery, finishDelivery, getDelivery, holdMail, reserveDelivery } from "../store/delivery-repository.ts";
import type { Db } from "../store/open-store.ts";
import { composeMail, type MailMessage } from "./compose-mail.ts";
import type { MailDecision } from "./mail-policy.ts";

export interface SmtpSettings {
  host: string;
  port: number;
  secure: boolean;
  user: string | null;
  password: string | null;
  /** Give up on a silent server after this long (connect, greeting, socket). Default 60 s. */
  timeoutMs?: number;
}

export interface MailSettings {
  dryRun: boolean;
  outboxDir: string;
  smtp: SmtpSettings;
}

export interface DeliveredMail {
  deliveryId: string;
  messageId: string;
  /** The .eml written to the outbox (always written: sent, held or dry run). */
  path: string;
  sent: boolean;
  /** True when an earlier attempt already delivered it. */
  already: boolean;
  /** Kept off the list by the mail policy (quiet by default, rate limits). */
  held: boolean;
  reasons: string[];
}

/** The envelope address of "Name <addr>" (and of a bare addr). */
export function envelopeAddresses(list: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of list) for (const p of addressparser(a, { flatten: true })) if (p.address) out.push(p.address);
  return [...new Set(out)];
}

/** Deterministic per report: every attempt and every process agrees. */
export function reportMessageId(flowId: string, from: string): string {
  const domain = envelopeAddresses([from])[0]?.split("@")[1] ?? "patchbench.invalid";
  return `${flowId}.report@${domain}`;
}

export function emlPath(outboxDir: string, flowId: string): string {
  return join(outboxDir, `${flowId}.eml`);
}

/**
 * Hand stored bytes to SMTP. The bytes are the .eml of the first attempt,
 * never recomposed: public-inbox drops a second copy only when the content
 * is identical, and files a changed copy (a new Date:) as a new message
 * ("Message-ID ... reused for mismatched content").
 */
export async function smtpSend(smtp: SmtpSettings, envelope: { from: string; to: string[] }, raw: Buffer): Promise<void> {
  const t = smtp.timeoutMs ?? 60_000;
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    connectionTimeout: t,
    greetingTimeout: t,
    socketTimeout: t,
    ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? "" } } : {}),
  });
  try {
    await transport.sendMail({ envelope, raw });
  } finally {
    transport.close();
  }
}

export interface SendDeps {
  db: Db;
  log: Logger;
  now?: () => Date;
  /** The SMTP hand-off (real nodemailer by default). */
  send?: typeof smtpSend;
}

/**
 * How long an attempt holds its outbox lease: twice the SMTP timeout, so a
 * live sender's attempt has surely ended (sent or failed) before another
 * sender may take the row over.
 */
export function outboxLeaseMs(smtp: SmtpSettings): number {
  return 2 * (smtp.timeoutMs ?? 60_000);
}

/**
 * One attempt at a reserved mail row: claim its lease (compare-and-set in
 * the store), send the stored .eml, mark the outcome. Returns false when
 * another sender holds a live lease. Throws an infra error when SMTP refused
 * or was unreachable (row: failed, lease released).
 */
export async function sendStoredMail(deps: SendDeps, row: Delivery, settings: MailSettings, from: string, leaseMs = outboxLeaseMs(settings.smtp)): Promise<boolean> {
  const now = deps.now ?? (() => new Date());
  const claimId = randomUUID();
  if (!(await claimDelivery(deps.db, row.id, { claimId, now: now(), leaseMs }))) return false;
  const raw = readFileSync(emlPath(settings.outboxDir, row.flowId));
  const to = row.target.split(", ").filter(Boolean);
  try {
    await (deps.send ?? smtpSend)(settings.smtp, { from: envelopeAddresses([from])[0] ?? from, to }, raw);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    await finishDelivery(deps.db, row.id, claimId, { ok: false, error: msg });
    throw infraError(`SMTP ${settings.smtp.host}:${settings.smtp.port} did not take ${row.messageId}: ${msg}`, "the outbox drain retries it", e);
  }
  await finishDelivery(deps.db, row.id, claimId, { ok: true, at: now() });
  return true;
}

/**
 * Deliver one report mail exactly once.
 * 1. The outbox row (keyed by the report id, carrying the Message-ID) is
 *    reserved and the exact bytes written to <outbox>/<flowId>.eml before
 *    anything leaves; a retry reuses both.
 * 2. The policy's decision: held mail stays in the outbox (status held).
 * 3. Sent mail is marked after SMTP accepted it. A crash in between leaves
 *    the row pending; the retry re-sends the SAME bytes and Message-ID,
 *    which public-inbox and lists drop as a duplicate.
 * SMTP down: the row is marked failed and an infra error thrown (the job
 * retries with backoff; `drainOutbox` keeps retrying after that).
 */
export async function deliverMail(
  deps: SendDeps,
  flowId: string,
  message: Omit<MailMessage, "messageId">,
  settings: MailSettings,
  decision: MailDecision = { action: "send", to: message.to, cc: message.cc, reasons: [] },
): Promise<DeliveredMail> {
  const messageId = reportMessageId(flowId, message.from);
  const deliveryId = stableId("delivery", flowId, "mail");
  const path = emlPath(settings.outboxDir, flowId);
  const out = { to: decision.action === "send" ? decision.to : message.to, cc: decision.action === "send" ? decision.cc : message.cc };
  await reserveDelivery(deps.db, {
    id: deliveryId,
    flowId,
    channel: settings.dryRun ? "outbox" : "smtp",
    messageId,
    target: envelopeAddresses([...out.to, ...out.cc]).join(", "),
  });
  const row = await getDelivery(deps.db, deliveryId);
  if (!row) throw infraError(`outbox row ${deliveryId} vanished`);
  const result = (o: Partial<DeliveredMail>): DeliveredMail => ({
    deliveryId,
    messageId,
    path,
    sent: false,
    already: false,
    held: false,
    reasons: decision.reasons,
    ...o,
  });
  if (row.status === "sent") {
    deps.log.info({ flowId, messageId }, "report mail already delivered; not sending again");
    return result({ sent: row.channel === "smtp", already: true });
  }
  if (row.status === "held") return result({ held: true, already: true, reasons: row.lastError ? [row.lastError] : decision.reasons });

  if (!existsSync(path)) {
    const raw = await composeMail({ ...message, ...out, messageId }, (deps.now ?? (() => new Date()))());
    mkdirSync(settings.outboxDir, { recursive: true });
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, raw);
    renameSync(tmp, path);
  }
  if (decision.action === "hold" && row.attempts === 0) {
    await holdMail(deps.db, deliveryId, decision.reasons.join("; "));
    deps.log.info({ flowId, path, reasons: decision.reasons }, "report kept in the outbox, not mailed");
    return result({ held: true });
  }
  if (row.channel === "outbox") {
    await finishDelivery(deps.db, deliveryId, "", { ok: true, at: (deps.now ?? (() => new Date()))() });
    deps.log.info({ flowId, path }, "report written to the outbox (dry run)");
    return result({});
  }
  if (row.attempts > 0) deps.log.warn({ flowId, messageId, attempts: row.attempts }, "re-sending an unfinished mail with the same bytes and Message-ID");
  const ok = await sendStoredMail(deps, row, settings, message.from);
  if (!ok) {
    deps.log.warn({ flowId, messageId }, "another sender took this attempt; leaving it to them");
    return result({});
  }
  deps.log.info({ flowId, messageId }, "report mail sent");
  return result({ sent: true });
}

export interface DrainOptions {
  /** First retry delay; doubles per attempt up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** After this many attempts a row is left failed for an operator. */
  maxAttempts: number;
  /**
   * A pending row reserved this long ago and never claimed is an orphan of a
   * sender that died before its first attempt (a younger one may still be
   * on its way to the mail policy's decision).
   */
  orphanAfterMs: number;
  /** A claim older than this is an orphan of a sender that died mid-attempt. Default: outboxLeaseMs(smtp). */
  leaseMs?: number;
}

export const DEFAULT_DRAIN: DrainOptions = { baseDelayMs: 30_000, maxDelayMs: 3_600_000, maxAttempts: 20, orphanAfterMs: 600_000 };

/**
 * Pure: may the drain try this unsent row now? Failed rows once their
 * backoff expired; pending rows only as orphans, judged by when their
 * attempt was claimed (the lease), or for a row never claimed, by when it
 * was reserved. (Judging a claimed row by created_at let the drain re-send
 * a report whose retry was in flight.)
 */
export function drainable(row: Delivery, nowMs: number, notBeforeMs: number, o: { orphanAfterMs: number; leaseMs: number }): boolean {
  if (nowMs < notBeforeMs) return false;
  if (row.status === "failed") return true;
  if (row.claimId !== null) return nowMs - Date.parse(row.claimedAt ?? "") >= o.leaseMs;
  return nowMs - Date.parse(row.createdAt) >= o.orphanAfterMs;
}

/** Per-process backoff memory: row id → earliest next attempt (ms). */
export type DrainState = Map<string, number>;

/**
 * One pass over the unsent mail: retry failed rows whose backoff expired and
 * pending rows orphaned by a crash (see `drainable`), with the stored bytes.
 * The claim itself is a compare-and-set, so a row another sender holds is
 * left alone even when this pass saw an older state.
 */
export async function drainOutbox(
  deps: SendDeps,
  settings: MailSettings,
  from: string,
  rows: readonly Delivery[],
  state: DrainState = new Map(),
  options: DrainOptions = DEFAULT_DRAIN,
): Promise<{ sent: string[]; failed: string[]; waiting: string[]; gaveUp: string[] }> {
  const now = (deps.now ?? (() => new Date()))().getTime();
  const r = { sent: [] as string[], failed: [] as string[], waiting: [] as string[], gaveUp: [] as string[] };
  for (const row of rows) {
    if (row.attempts >= options.maxAttempts) {
      r.gaveUp.push(row.id);
      continue;
    }
    const leaseMs = options.leaseMs ?? outboxLeaseMs(settings.smtp);
    if (!drainable(row, now, state.get(row.id) ?? 0, { orphanAfterMs: options.orphanAfterMs, leaseMs })) {
      r.waiting.push(row.id);
      continue;
    }
    try {
      if (await sendStoredMail(deps, row, settings, from, leaseMs)) {
        state.delete(row.id);
        r.sent.push(row.id);
        deps.log.info({ flowId: row.flowId, messageId: row.messageId, attempts: row.attempts + 1 }, "outbox: mail sent");
      } else r.waiting.push(row.id);
    } catch (e) {
      const delay = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** row.attempts);
      state.set(row.id, now + delay);
      r.failed.push(row.id);
      deps.log.warn({ flowId: row.flowId, err: (e as Error).message, retryInMs: delay }, "outbox: send failed");
    }
  }
  return r;
}
