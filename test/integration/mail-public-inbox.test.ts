import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import type { Job } from "bullmq";
import { type Config, globalSchema, treeSchema } from "../../src/config/schema.ts";
import type { Series } from "../../src/domain/series.ts";
import { getDelivery } from "../../src/store/delivery-repository.ts";
import { assembleMailbox } from "../../src/ingest/mail/assemble-mailbox.ts";
import { classifyMessage } from "../../src/ingest/mail/classify-message.ts";
import { parseMessage } from "../../src/ingest/mail/parse-message.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { createFlowIfAbsent } from "../../src/store/flow-repository.ts";
import { type Db, openStore } from "../../src/store/open-store.ts";
import { saveSeries } from "../../src/store/series-repository.ts";
import { createReportProcessor } from "../../src/workers/report-processor.ts";
import { startPublicInbox, startTestSmtp, type TestPublicInbox, type TestSmtp } from "../helpers/smtp-server.ts";
import {
  AUTOTUNE_FILES,
  autotuneDoesNotApply,
  DELACK_FILES,
  delackApplied,
  netperfDelayBench,
  noNetserverReason,
  seriesMails,
  seriesOf,
} from "./mail-fixture-results.ts";

const LIST = "netdev@vger.kernel.org";
const FROM = "patchbench <patchbench@bot.example.org>";

/** A job as BullMQ hands it to the report processor: data plus the children's return values. */
function reportJob(flowId: string, series: Series, chain: unknown, errors: { stage: string; reason: string }[] = [], request?: unknown): Job {
  return {
    data: { flowId, seriesId: series.id, tree: "net-next", ...(request === undefined ? {} : { request }) },
    getChildrenValues: async () => ({ [`bull:x:${flowId}-chain`]: { results: chain, errors } }),
    getIgnoredChildrenFailures: async () => ({}),
  } as unknown as Job;
}

/**
 * The mail channel end to end on real parts: the report job's mail goes
 * through nodemailer to a real SMTP server (smtp-server) that hands it to a
 * real public-inbox (public-inbox-mda), read back over public-inbox-httpd,
 * and through the ingest path again.
 */
describe("report mail into a real public-inbox", () => {
  let dir: string;
  let inbox: TestPublicInbox;
  let smtp: TestSmtp;
  let base: string;
  let db: Db;
  let config: Config;
  let autotune: Series;
  let delack: Series;
  const log = createLogger({ level: "silent" });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pb-mail-pi-"));
    inbox = await startPublicInbox("netdev", LIST);
    // The list already carries both series, as lore would.
    for (const raw of [...seriesMails(AUTOTUNE_FILES), ...seriesMails(DELACK_FILES)]) await inbox.deliver(raw);
    smtp = await startTestSmtp({
      deliver: async (m) => {
        if (m.to.includes(LIST)) await inbox.deliver(m.raw);
      },
    });
    base = await inbox.startHttpd();
    db = await openStore(join(dir, "store.sqlite"));
    autotune = await seriesOf(AUTOTUNE_FILES);
    delack = await seriesOf(DELACK_FILES);
    for (const s of [autotune, delack]) await saveSeries(db, s, new Map());
    const global = globalSchema.parse({
      mail: { from: FROM, dryRun: false, smtp: { host: "127.0.0.1", port: smtp.port } },
    });
    config = {
      configDir: null,
      global,
      trees: [treeSchema.parse({ name: "net-next", url: "unused", lists: [LIST], recipients: { to: ["author"], cc: ["list"] } })],
      secrets: { smtpPassword: null },
      paths: { dataDir: dir, storePath: join(dir, "store.sqlite"), store: join(dir, "store.sqlite"), workDir: join(dir, "work"), outboxDir: join(dir, "outbox") },
    };
  });
  after(async () => {
    await smtp?.stop();
    await inbox?.stop();
    await db?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  async function runReport(flowId: string, series: Series, chain: unknown[], errors: { stage: string; reason: string }[] = [], request?: unknown) {
    await createFlowIfAbsent(db, { id: flowId, seriesId: series.id, tree: "net-next", base: null, plan: "{}" });
    return createReportProcessor({ db, config, log })(reportJob(flowId, series, chain, errors, request));
  }

  test("does not apply: mailed, threaded under the cover in public-inbox, Re: subject, To/Cc, From and X-Patchbench headers", async () => {
    const out = await runReport("flow-mail-autotune", autotune, [autotuneDoesNotApply(autotune)]);
    assert.equal(out.mail.action, "send", JSON.stringify(out.mail));
    assert.equal(smtp.received.length, 1);
    assert.deepEqual(smtp.received[0]!.to.sort(), ["edumazet@google.com", LIST].sort());
    assert.equal(smtp.received[0]!.from, "patchbench@bot.example.org");

    const cover = autotune.cover!.messageId;
    const raw = await fetch(`${base}/${encodeURIComponent(out.messageId)}/raw`);
    assert.equal(raw.status, 200, `our reply is not in the inbox: ${out.messageId}`);
    const text = await raw.text();
    assert.match(text, /^Subject: Re: \[PATCH net-next 0\/3\] tcp: fix receive autotune again$/m);
    assert.match(text, new RegExp(`^In-Reply-To: <${cover.replace(/[.]/g, "\\.")}>$`, "m"));
    assert.match(text, new RegExp(`^References: <${cover.replace(/[.]/g, "\\.")}>$`, "m"));
    assert.match(text, /^From: patchbench <patchbench@bot\.example\.org>$/m);
    assert.match(text, /^To: Eric Dumazet <edumazet@google\.com>$/m);
    assert.match(text, /^Cc: netdev@vger\.kernel\.org$/m);
    assert.match(text, /^X-Patchbench-Report: flow-mail-autotune$/m);
    assert.match(text, /^X-Patchbench-Status: fail$/m);
    assert.match(text, /patchbench: does not apply to net-next at d297c3ede9e7 \(patch 1\)/);

    // public-inbox's own threading: the cover's thread mbox holds cover, 3 patches and our reply.
    const t = await fetch(`${base}/${encodeURIComponent(cover)}/t.mbox.gz`);
    assert.equal(t.status, 200);
    const mbox = gunzipSync(Buffer.from(await t.arrayBuffer())).toString("utf8");
    const ids = [...mbox.matchAll(/^Message-ID: <([^>]+)>$/gim)].map((m) => m[1]);
    assert.equal(ids.length, 5, ids.join(" "));
    assert.ok(ids.includes(out.messageId));
  });

  test("quiet by default: a noisy benchmark and an infrastructure error are kept in the outbox, not mailed", async () => {
    const noisy = await runReport("flow-mail-delack-noisy", delack, [delackApplied(), netperfDelayBench([1, 2, 3])]);
    assert.equal(noisy.mail.action, "hold");
    assert.match(noisy.mail.reasons.join(), /nothing significant/);
    const infra = await runReport("flow-mail-delack-infra", delack, [delackApplied()], [{ stage: "bench", reason: noNetserverReason() }]);
    assert.equal(infra.status, "error");
    assert.equal(infra.mail.action, "hold");
    assert.match(infra.mail.reasons.join(), /infrastructure/);
    assert.equal(smtp.received.length, 1, "nothing new reached SMTP");
    for (const o of [noisy, infra]) {
      assert.ok(existsSync(o.emlPath), "the held mail stays in the outbox folder");
      assert.match(readFileSync(o.emlPath, "utf8"), /^X-Patchbench-Report: /m);
      const row = await db.selectFrom("deliveries").selectAll().where("flow_id", "=", o.flowId).executeTakeFirstOrThrow();
      assert.equal((await getDelivery(db, row.id))?.status, "held");
    }
    assert.equal(await fetch(`${base}/${encodeURIComponent(noisy.messageId)}/raw`).then((r) => r.status), 404);
  });

  test("an explicit /bench is answered even when nothing is significant; a rerun of the job sends nothing twice", async () => {
    const asked = await runReport("flow-mail-delack-bench", delack, [delackApplied(), netperfDelayBench([1, 2, 3])], [], { by: "Ada <ada@example.org>" });
    assert.equal(asked.mail.action, "send");
    assert.equal(smtp.received.length, 2);
    const again = await runReport("flow-mail-delack-bench", delack, [delackApplied(), netperfDelayBench([1, 2, 3])], [], { by: "Ada <ada@example.org>" });
    assert.equal(again.messageId, asked.messageId);
    assert.equal(smtp.received.length, 2, "the rerun found the row sent");
    assert.equal(await fetch(`${base}/${encodeURIComponent(asked.messageId)}/raw`).then((r) => r.status), 200);
  });

  test("ingest reading the inbox back files our replies as our own bot mail and starts no series", async () => {
    const raws = await inbox.messages();
    assert.equal(raws.length, 8 + 2, "8 series mails and our 2 replies, each once");
    const ours: string[] = [];
    for (const raw of raws) {
      const m = await parseMessage(raw);
      const c = classifyMessage(m);
      if (Object.keys(m.headers.patchbench).length > 0) {
        assert.equal(c.kind, "bot");
        assert.equal(c.bot, "patchbench");
        ours.push(m.messageId!);
      } else assert.notEqual(c.kind, "bot");
    }
    assert.equal(ours.length, 2);
    const box = await assembleMailbox(raws);
    assert.deepEqual(box.series.map((s) => s.title).sort(), [autotune.title, delack.title].sort());
    for (const id of ours) {
      const r = box.replies.find((x) => x.messageId === id);
      assert.ok(r, `reply ${id} not attached`);
      assert.equal(r.kind, "bot");
    }
    // Same series ids as before our replies existed: our mail changed nothing that would start work.
    assert.deepEqual(box.series.map((s) => s.id).sort(), [autotune.id, delack.id].sort());
  });
});
