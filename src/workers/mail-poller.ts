import { readdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import type { FlowProducer } from "bullmq";
import { pickTree } from "../config/pick-tree.ts";
import type { Config, SourceConfig } from "../config/schema.ts";
import { assembleMailbox } from "../ingest/mail/assemble-mailbox.ts";
import { parseMessageHeaders } from "../ingest/mail/parse-message.ts";
import { splitMbox } from "../ingest/mail/split-mbox.ts";
import type { Logger } from "../lib/logger.ts";
import { enqueueFlow } from "../queue/enqueue-flow.ts";
import { planFlow } from "../queue/plan-flow.ts";
import { getCursor, setCursor } from "../store/cursor-repository.ts";
import type { Db } from "../store/open-store.ts";
import { quarantineMessage } from "../store/quarantine-repository.ts";
import { listRecentMails, saveIncomingMail, saveSeries } from "../store/series-repository.ts";

/** Series are assembled from the mails of this window (patches arrive over hours). */
const WINDOW_MS = 7 * 24 * 3600_000;

/** New raw mails of one source since its cursor (maildir: new/ → cur/ as MUAs do; mbox: byte offset). */
async function collect(db: Db, source: SourceConfig, log: Logger): Promise<{ raw: Uint8Array; where: string }[]> {
  if (source.kind === "maildir") {
    const out: { raw: Uint8Array; where: string }[] = [];
    const dir = join(source.path, "new");
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      out.push({ raw: readFileSync(p), where: p });
      // Marked seen only after the caller stored it (see below).
    }
    return out;
  }
  const key = `mbox:${source.path}`;
  const offset = Number((await getCursor(db, key, "offset")) ?? "0");
  const size = statSync(source.path).size;
  if (size < offset) log.warn({ path: source.path }, "mbox shrank; reading it again from the start");
  const start = size < offset ? 0 : offset;
  if (size === start) return [];
  const bytes = readFileSync(source.path).subarray(start);
  const split = splitMbox(bytes, source.path);
  await setCursor(db, key, "offset", String(size));
  return split.messages.map((m) => ({ raw: m.raw, where: m.source }));
}

/**
 * One poll over every configured source: store new mails (quarantining the
 * unreadable), reassemble the recent window, and enqueue a flow for each
 * complete (or overdue incomplete) series. Flows are idempotent, so a series
 * seen again enqueues nothing.
 */
export async function pollOnce(deps: {
  db: Db;
  config: Config;
  flows: FlowProducer;
  log: Logger;
  installationId: string;
  sources?: SourceConfig[];
}): Promise<{ newMails: number; flows: string[] }> {
  const { db, config, log } = deps;
  let newMails = 0;
  for (const source of deps.sources ?? config.global.sources) {
    let items: { raw: Uint8Array; where: string }[];
    try {
      items = await collect(db, source, log);
    } catch (e) {
      log.error({ err: e, source }, "mail source unreadable; will retry next poll");
      continue;
    }
    for (const it of items) {
      let messageId: string | null = null;
      try {
        messageId = parseMessageHeaders(it.raw).messageId;
      } catch {
        messageId = null;
      }
      if (!messageId) await quarantineMessage(db, { messageId: null, reason: "no Message-ID", source: it.where, raw: it.raw });
      else if (await saveIncomingMail(db, messageId, it.raw)) newMails++;
      if (source.kind === "maildir") {
        const name = it.where.split("/").pop()!;
        renameSync(it.where, join(source.path, "cur", name.includes(":2,") ? name : `${name}:2,S`));
      }
    }
  }
  if (newMails === 0) return { newMails, flows: [] };
  const box = await assembleMailbox(await listRecentMails(db, new Date(Date.now() - WINDOW_MS).toISOString()), {
    incompleteAfterMs: 3600_000,
  });
  const flows: string[] = [];
  for (const s of box.series) {
    if (s.kind !== "patch" || s.patches.length === 0 || box.states[s.id] === "waiting") continue;
    const tree = pickTree(s, config.trees, config.global.defaultTree);
    await saveSeries(db, s, box.raw);
    const plan = planFlow({ series: s, raw: box.raw, tree, installationId: deps.installationId });
    const r = await enqueueFlow({ db, flows: deps.flows, log }, plan);
    if (r.created) flows.push(r.flowId);
  }
  return { newMails, flows };
}
