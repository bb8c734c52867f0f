import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { composeMail } from "../../src/deliver/compose-mail.ts";
import { type DrainState, deliverMail, drainOutbox, type MailSettings } from "../../src/deliver/deliver-mail.ts";
import { getDelivery, listUnsentMail } from "../../src/store/delivery-repository.ts";
import { stableId } from "../../src/domain/ids.ts";
import { parseMessage } from "../../src/ingest/mail/parse-message.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { type Db, openStore } from "../../src/store/open-store.ts";
import { PROJECT_ROOT } from "../helpers/fixtures.ts";
import { startPublicInbox, startTestSmtp, type TestPublicInbox, type TestSmtp } from "../helpers/smtp-server.ts";

const LIST = "bpf@vger.kernel.org";
const FROM = "patchbench <patchbench@bot.example.org>";
const log = createLogger({ level: "silent" });

const message = (flowId: string) => ({
  from: FROM,
  to: ["Ada <ada@example.org>"],
  cc: [LIST],
  subject: "Re: [PATCH bpf-next 0/2] bpf: a series",
  inReplyTo: "cover.1.git.ada@example.org",
  references: ["cover.1.git.ada@example.org"],
  text: `patchbench: does not apply (${flowId})\n`,
  headers: { "X-Patchbench-Report": flowId },
});

/** How many messages with this Message-ID the inbox holds. */
async function copies(inbox: TestPublicInbox, messageId: string): Promise<number> {
  let n = 0;
  for (const raw of await inbox.messages()) if ((await parseMessage(raw)).messageId === messageId) n++;
  return n;
}

/** The sender in its own process, as the report worker would run it. */
const CHILD = `
import { deliverMail } from "./src/deliver/deliver-mail.ts";
import { openStore } from "./src/store/open-store.ts";
import { createLogger } from "./src/lib/logger.ts";
const [storePath, flowId, settings, msg] = process.argv.slice(1).map((a, i) => (i >= 2 ? JSON.parse(a) : a));
const db = await openStore(storePath);
await deliverMail({ db, log: createLogger({ level: "silent" }) }, flowId, msg, settings);
console.log("marked");
await db.destroy();
`;

describe("exactly once, on a real SMTP server and a real public-inbox", () => {
  let dir: string;
  let inbox: TestPublicInbox;
  let smtp: TestSmtp;
  let db: Db;
  let settings: MailSettings;
  let child: ChildProcess | null = null;
  let killOnReceive = false;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pb-mail-once-"));
    inbox = await startPublicInbox("bpf", LIST);
    smtp = await startTestSmtp({
      deliver: async (m) => {
        if (m.to.includes(LIST)) await inbox.deliver(m.raw);
      },
      // The message is in the inbox; the sender dies before it reads 250 and marks the row.
      beforeReply: async () => {
        const c = child;
        if (!killOnReceive || !c || c.exitCode !== null) return;
        killOnReceive = false;
        const exited = new Promise((r) => c.once("exit", r));
        c.kill("SIGKILL");
        await exited;
      },
    });
    db = await openStore(join(dir, "store.sqlite"));
    settings = { dryRun: false, outboxDir: join(dir, "outbox"), smtp: { host: "127.0.0.1", port: smtp.port, secure: false, user: null, password: null, timeoutMs: 5000 } };
  });
  after(async () => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    await smtp?.stop();
    await inbox?.stop();
    await db?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test("sender killed after DATA, before marking: the retry re-sends the same bytes and the inbox holds the message once", async () => {
    const flowId = "flow-killed-mid-send";
    killOnReceive = true;
    const storePath = join(dir, "store.sqlite");
    child = spawn(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", CHILD, storePath, flowId, JSON.stringify(settings), JSON.stringify(message(flowId))],
      { cwd: PROJECT_ROOT, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    const [code, signal] = await new Promise<[number | null, string | null]>((r) => child!.once("exit", (c, s) => r([c, s])));
    assert.equal(signal, "SIGKILL", `the child was not killed mid-send (code ${code}): ${out} ${err}`);
    assert.doesNotMatch(out, /marked/);
    assert.equal(smtp.received.length, 1);

    const id = stableId("delivery", flowId, "mail");
    const row = await getDelivery(db, id);
    assert.equal(row?.status, "pending", "the crash left the row unmarked");
    assert.equal(row?.attempts, 1);
    const messageId = row!.messageId!;
    assert.equal(await copies(inbox, messageId), 1);

    // The drain takes the orphan (here without waiting for the dead sender's lease to run out) and sends the stored .eml again.
    const r = await drainOutbox({ db, log }, settings, FROM, await listUnsentMail(db), new Map(), {
      baseDelayMs: 1000,
      maxDelayMs: 60_000,
      maxAttempts: 5,
      orphanAfterMs: 0,
      leaseMs: 0,
    });
    assert.deepEqual(r.sent, [id]);
    assert.equal(smtp.received.length, 2, "the message went out a second time");
    assert.deepEqual(smtp.received[1]!.raw, smtp.received[0]!.raw, "byte-identical re-send");
    assert.equal((await getDelivery(db, id))?.status, "sent");
    assert.equal(await copies(inbox, messageId), 1, "public-inbox holds it once");

    // A third run (a retried report job) sends nothing.
    const again = await deliverMail({ db, log }, flowId, message(flowId), settings);
    assert.equal(again.already, true);
    assert.equal(smtp.received.length, 2);
  });

  test("control: the same Message-ID recomposed with a new Date is stored twice, so re-sends must reuse the bytes", async () => {
    const flowId = "flow-killed-mid-send";
    const messageId = `${flowId}.report@bot.example.org`;
    const recomposed = await composeMail({ ...message(flowId), messageId }, new Date("2030-01-01T00:00:00Z"));
    assert.equal(await copies(inbox, messageId), 1);
    await inbox.deliver(recomposed);
    assert.equal(await copies(inbox, messageId), 2, "public-inbox filed the changed copy as a second message");
  });

  test("SMTP down: the attempt fails (infra error), nothing is lost, the drain retries with backoff and sends once", async () => {
    const flowId = "flow-smtp-down";
    const id = stableId("delivery", flowId, "mail");
    await smtp.stop();
    await assert.rejects(deliverMail({ db, log }, flowId, message(flowId), settings), (e: Error & { code?: string }) => e.code === "infra");
    let row = await getDelivery(db, id);
    assert.equal(row?.status, "failed");
    assert.match(row?.lastError ?? "", /ECONNREFUSED/);
    const eml = readFileSync(join(settings.outboxDir, `${flowId}.eml`));

    let clock = Date.parse("2030-01-01T00:00:00Z");
    const deps = { db, log, now: () => new Date(clock) };
    const state: DrainState = new Map();
    const opts = { baseDelayMs: 30_000, maxDelayMs: 3_600_000, maxAttempts: 10, orphanAfterMs: 600_000 };
    let r = await drainOutbox(deps, settings, FROM, await listUnsentMail(db), state, opts);
    assert.deepEqual(r.failed, [id], "still down");
    // attempts was 1 when it failed again: next try 30 s * 2^1 later.
    assert.equal(state.get(id), clock + 60_000);
    await smtp.start();
    clock += 59_000;
    r = await drainOutbox(deps, settings, FROM, await listUnsentMail(db), state, opts);
    assert.deepEqual(r.waiting, [id], "backoff not over yet");
    const before = smtp.received.length;
    clock += 1_000;
    r = await drainOutbox(deps, settings, FROM, await listUnsentMail(db), state, opts);
    assert.deepEqual(r.sent, [id]);
    assert.equal(smtp.received.length, before + 1);
    // SMTP carries CRLF line ends; the outbox file has LF.
    assert.equal(smtp.received.at(-1)!.raw.toString("utf8").replace(/\r\n/g, "\n"), eml.toString("utf8"), "the stored bytes went out");
    row = await getDelivery(db, id);
    assert.equal(row?.status, "sent");
    assert.equal(row?.attempts, 3);
    assert.equal(await copies(inbox, row!.messageId!), 1);
    r = await drainOutbox(deps, settings, FROM, await listUnsentMail(db), state, opts);
    assert.deepEqual(r, { sent: [], failed: [], waiting: [], gaveUp: [] });
  });

  test("SMTP answers 451: the row stays failed with the server's words until a later attempt succeeds", async () => {
    const flowId = "flow-smtp-451";
    const id = stableId("delivery", flowId, "mail");
    smtp.tempFail = true;
    await assert.rejects(deliverMail({ db, log }, flowId, message(flowId), settings));
    assert.match((await getDelivery(db, id))?.lastError ?? "", /451/);
    smtp.tempFail = false;
    const r = await drainOutbox({ db, log }, settings, FROM, await listUnsentMail(db));
    assert.deepEqual(r.sent, [id]);
    assert.equal(await copies(inbox, (await getDelivery(db, id))!.messageId!), 1);
  });
});
