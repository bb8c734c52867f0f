import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { deliverMail, drainOutbox, type MailSettings, outboxLeaseMs } from "../../src/deliver/deliver-mail.ts";
import { getDelivery, listUnsentMail } from "../../src/store/delivery-repository.ts";
import { stableId } from "../../src/domain/ids.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { claimDelivery } from "../../src/store/delivery-repository.ts";
import { type Db, openStore } from "../../src/store/open-store.ts";
import { PROJECT_ROOT } from "../helpers/fixtures.ts";
import { startTestSmtp, type TestSmtp } from "../helpers/smtp-server.ts";
import { STORE_BACKENDS, type StoreBackend } from "../helpers/store-backends.ts";

const FROM = "patchbench <patchbench@bot.example.org>";
const log = createLogger({ level: "silent" });
const message = (flowId: string) => ({
  from: FROM,
  to: ["Ada <ada@example.org>"],
  cc: ["bpf@vger.kernel.org"],
  subject: "Re: [PATCH bpf-next 0/2] bpf: a series",
  inReplyTo: "cover.1.git.ada@example.org",
  references: ["cover.1.git.ada@example.org"],
  text: `patchbench: does not apply (${flowId})\n`,
  headers: { "X-Patchbench-Report": flowId },
});
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A report sender in its own process (own store connection), as a second orchestrator would run it. */
const CHILD = `
import { deliverMail } from "./src/deliver/deliver-mail.ts";
import { openStore } from "./src/store/open-store.ts";
import { createLogger } from "./src/lib/logger.ts";
const [storePath, flowId, settings, msg] = process.argv.slice(1).map((a, i) => (i >= 2 ? JSON.parse(a) : a));
const db = await openStore(storePath);
const r = await deliverMail({ db, log: createLogger({ level: "silent" }) }, flowId, msg, settings);
console.log(JSON.stringify({ sent: r.sent }));
await db.destroy();
`;

for (const backend of STORE_BACKENDS) describe(`outbox lease on ${backend.name}: one sender hands a report to SMTP`, () => {
  let dir: string;
  let store: Awaited<ReturnType<StoreBackend["fresh"]>>;
  let smtp: TestSmtp;
  let db: Db;
  let settings: MailSettings;
  /** Milliseconds the SMTP server waits before answering 250 (a slow server or sender). */
  let slowMs = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pb-lease-"));
    smtp = await startTestSmtp({
      beforeReply: async () => {
        if (slowMs) await sleep(slowMs);
      },
    });
    store = await backend.fresh();
    db = await openStore(store.location);
    settings = { dryRun: false, outboxDir: join(dir, "outbox"), smtp: { host: "127.0.0.1", port: smtp.port, secure: false, user: null, password: null, timeoutMs: 5000 } };
  });
  beforeEach(() => {
    slowMs = 0;
    smtp.received.length = 0;
  });
  after(async () => {
    await smtp?.stop();
    await db?.destroy();
    await store?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a report retry in flight on a slow server: the drain (row older than the orphan age) leaves it to the holder", async () => {
    const flowId = "flow-retry-vs-drain";
    const id = stableId("delivery", flowId, "mail");
    slowMs = 3000;
    const retry = deliverMail({ db, log }, flowId, message(flowId), settings);
    for (let i = 0; i < 100 && !(await getDelivery(db, id))?.claimId; i++) await sleep(20);
    assert.ok((await getDelivery(db, id))?.claimId, "the retry claimed the row");
    // orphanAfterMs 0: the row counts as long reserved — what made the old drain (judging by created_at) send it again.
    const r = await drainOutbox({ db, log }, settings, FROM, await listUnsentMail(db), new Map(), {
      baseDelayMs: 1000,
      maxDelayMs: 60_000,
      maxAttempts: 5,
      orphanAfterMs: 0,
    });
    assert.deepEqual(r.sent, []);
    assert.deepEqual(r.waiting, [id]);
    const done = await retry;
    assert.equal(done.sent, true);
    assert.equal(smtp.received.length, 1, "exactly one mail");
    const row = await getDelivery(db, id);
    assert.equal(row?.status, "sent");
    assert.equal(row?.attempts, 1);
    assert.equal(row?.claimId, null);
  });

  test("two senders in two processes at once, the server slow: exactly one mail", async () => {
    const flowId = "flow-two-processes";
    slowMs = 2000;
    const storePath = store.location;
    const runOne = () =>
      new Promise<string>((resolve, reject) => {
        const c = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", CHILD, storePath, flowId, JSON.stringify(settings), JSON.stringify(message(flowId))], {
          cwd: PROJECT_ROOT,
          stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        c.stdout.on("data", (d: Buffer) => (out += d.toString()));
        c.stderr.on("data", (d: Buffer) => (err += d.toString()));
        c.on("exit", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`sender exited ${code}: ${err}`))));
      });
    const outs = await Promise.all([runOne(), runOne()]);
    assert.equal(smtp.received.length, 1, `exactly one mail (senders said ${outs.join(", ")})`);
    assert.deepEqual(outs.map((o) => JSON.parse(o).sent).sort(), [false, true], "one sent, the other left it to the holder");
    assert.equal((await getDelivery(db, stableId("delivery", flowId, "mail")))?.status, "sent");
  });

  test("a sender that died holding the lease: taken over only after the lease time, then sent once", async () => {
    const flowId = "flow-dead-holder";
    const id = stableId("delivery", flowId, "mail");
    // Reserve and write the .eml (SMTP refuses once: the row is failed, nothing sent).
    await smtp.stop();
    await assert.rejects(deliverMail({ db, log }, flowId, message(flowId), settings));
    await smtp.start();
    // A sender claims it and dies before sending anything.
    const t0 = new Date();
    assert.equal(await claimDelivery(db, id, { claimId: "dead-sender", now: t0, leaseMs: outboxLeaseMs(settings.smtp) }), true);
    assert.equal(await claimDelivery(db, id, { claimId: "second", now: t0, leaseMs: outboxLeaseMs(settings.smtp) }), false, "a live lease cannot be claimed");
    const lease = outboxLeaseMs(settings.smtp);
    const opts = { baseDelayMs: 1000, maxDelayMs: 60_000, maxAttempts: 5, orphanAfterMs: 0 };
    let r = await drainOutbox({ db, log, now: () => new Date(t0.getTime() + lease - 1000) }, settings, FROM, await listUnsentMail(db), new Map(), opts);
    assert.deepEqual(r.waiting, [id], "lease not over yet");
    assert.equal(smtp.received.length, 0);
    r = await drainOutbox({ db, log, now: () => new Date(t0.getTime() + lease) }, settings, FROM, await listUnsentMail(db), new Map(), opts);
    assert.deepEqual(r.sent, [id]);
    assert.equal(smtp.received.length, 1);
    assert.equal((await getDelivery(db, id))?.status, "sent");
  });
});
