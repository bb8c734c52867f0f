import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { FlowProducer, Queue } from "bullmq";
import { type Config, globalSchema, type SourceConfig, treeSchema } from "../../src/config/schema.ts";
import { exec } from "../../src/lib/exec.ts";
import { GIT_ENV } from "../../src/lib/git.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { ORCHESTRATOR_QUEUE } from "../../src/queue/queue-names.ts";
import { getCursor } from "../../src/store/cursor-repository.ts";
import { getFlow } from "../../src/store/flow-repository.ts";
import { type Db, openStore } from "../../src/store/open-store.ts";
import { getSeries, saveIncomingMail } from "../../src/store/series-repository.ts";
import { createSourcePoller, pollOnce, type SourcePoller, sourceLabel } from "../../src/workers/mail-poller.ts";
import { readFixture } from "../helpers/fixtures.ts";
import { startTestInbox, type TestInbox } from "../helpers/public-inbox.ts";
import { createFlowCanceller } from "../../src/queue/cancel-flow.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";

const V2 = ["00-cover.eml", "01-1-reply-acked-by-yonghong.eml", "01-patch.eml", "02-patch.eml"];
const V3 = ["00-cover.eml", "01-1-reply-acked-by-yonghong.eml", "01-patch.eml", "02-2-reply-acked-by-yonghong.eml", "02-patch.eml"];
const mail = (v: string, f: string): Buffer => readFixture("mail", "bpf-sysctl-get-name", v, f);

/** public-inbox-mda drops the per-recipient X-Original-To/Delivered-To headers; nothing else changes. */
function asArchived(raw: Buffer): Buffer {
  const end = raw.indexOf("\n\n");
  const head = raw
    .subarray(0, end)
    .toString("latin1")
    .split("\n")
    .filter((l) => !/^(x-original-to|delivered-to):/i.test(l))
    .join("\n");
  return Buffer.concat([Buffer.from(head, "latin1"), raw.subarray(end)]);
}

function testConfig(dataDir: string, sources: SourceConfig[], incompleteAfterSec: number): Config {
  const global = globalSchema.parse({ dataDir, sources: [], ingest: { incompleteAfterSec }, trees: ["bpf-next"], defaultTree: "bpf-next" });
  const tree = treeSchema.parse({ name: "bpf-next", url: "https://git.kernel.org/pub/scm/linux/kernel/git/bpf/bpf-next.git", tags: ["bpf-next"] });
  return {
    configDir: null,
    global: { ...global, sources },
    trees: [tree],
    secrets: { smtpPassword: null },
    paths: { dataDir, storePath: join(dataDir, "store.sqlite"), store: join(dataDir, "store.sqlite"), workDir: join(dataDir, "work"), outboxDir: join(dataDir, "outbox") },
  };
}

async function inboxHead(inbox: TestInbox, epoch: number): Promise<string> {
  const r = await exec(["git", "-C", join(inbox.inboxDir, "git", `${epoch}.git`), "rev-parse", "HEAD"], { extraEnv: GIT_ENV });
  return r.stdout.trim();
}

describe("public-inbox git epochs source (real public-inbox-httpd)", () => {
  let inbox: TestInbox;
  let redis: TestRedis;
  let dir: string;
  let db: Db;
  let flows: FlowProducer;
  let queue: Queue;
  let config: Config;
  let source: SourceConfig;
  const log = silentLogger();
  const connection = () => ({ host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: null });
  const newPoller = (): SourcePoller => createSourcePoller(source, { db, dataDir: dir });
  const poll = (poller: SourcePoller) =>
    pollOnce({ db, config, flows, log, installationId: "pitest", pollers: [poller], cancelFlow: createFlowCanceller(queue) });

  before(async () => {
    [inbox, redis] = await Promise.all([startTestInbox({ list: "bpf" }), startTestRedis()]);
    dir = mkdtempSync(join(tmpdir(), "pb-pi-git-"));
    db = await openStore(join(dir, "store.sqlite"));
    flows = new FlowProducer({ connection: connection(), prefix: "pbt" });
    queue = new Queue(ORCHESTRATOR_QUEUE, { connection: connection(), prefix: "pbt" });
    source = { kind: "public-inbox-git", url: inbox.url, list: "bpf", intervalSec: 10 };
    config = testConfig(dir, [source], 2);
  });
  after(async () => {
    await flows?.close();
    await queue?.close();
    await db?.destroy();
    await Promise.all([inbox?.stop(), redis?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("first poll follows the newest epoch from its head; mails injected while it runs are read; an incomplete series waits, then runs with its missing index", async () => {
    await inbox.inject(mail("v1", "00-single-patch.eml"));
    const poller = newPoller();
    const first = await poll(poller);
    assert.equal(first.newMails, 0, "history is not replayed");
    assert.equal(await getCursor(db, sourceLabel(source), "epoch-0"), await inboxHead(inbox, 0));

    // v2 without its patch 2/2: stored, but the series waits.
    for (const f of ["00-cover.eml", "01-1-reply-acked-by-yonghong.eml", "01-patch.eml"]) await inbox.inject(mail("v2", f));
    const second = await poll(poller);
    assert.equal(second.newMails, 3);
    assert.deepEqual(second.flows, [], "a series missing patches waits");
    assert.equal(await getCursor(db, sourceLabel(source), "epoch-0"), await inboxHead(inbox, 0));

    // incompleteAfterSec = 2, counted from arrival (the fixture's Date: is from 2025).
    await new Promise((r) => setTimeout(r, 2300));
    const third = await poll(poller);
    assert.equal(third.newMails, 0);
    assert.equal(third.flows.length, 1, "after the deadline the incomplete series is enqueued");
    const flow = await getFlow(db, third.flows[0]!);
    assert.ok(flow);
    const series = await getSeries(db, flow.seriesId);
    assert.equal(series?.version, 2);
    assert.deepEqual(series?.missing, [2]);
    assert.equal(series?.complete, false);
    assert.equal(await (await queue.getJob(`${flow.id}-report`))?.getState(), "waiting-children");
  });

  test("restart resumes at the stored cursor: a crash before the cursor moved loses nothing and stores nothing twice", async () => {
    await inbox.inject(mail("v2", "02-patch.eml"));
    // Crash 1: the mail was read but nothing stored and the cursor not committed.
    const crashed = await newPoller().collect();
    assert.equal(crashed.mails.length, 1);
    // Crash 2: stored, but the process died before commit().
    const again = await newPoller().collect();
    assert.equal(again.mails.length, 1, "nothing lost: the same commit is read again");
    assert.deepEqual(again.mails[0]?.raw, asArchived(mail("v2", "02-patch.eml")), "the m blob is the archived mail, byte for byte");
    assert.equal(await saveIncomingMail(db, "20250610091933.717824-3-jmarchan@redhat.com", again.mails[0]!.raw), true);
    // Restart: a fresh poller resumes from the store's cursor.
    const resumed = await poll(newPoller());
    assert.equal(resumed.newMails, 0, "nothing processed twice");
    assert.match(resumed.notes.join(" "), /epoch 0: 1 commits/);
    assert.equal(await getCursor(db, sourceLabel(source), "epoch-0"), await inboxHead(inbox, 0));
    const quiet = await poll(newPoller());
    assert.equal(quiet.newMails, 0);
    assert.match(quiet.notes.join(" "), /no new commits/);
  });

  test("a deletion commit (d, not m) is skipped", async () => {
    await inbox.remove(mail("v2", "01-1-reply-acked-by-yonghong.eml"));
    const r = await poll(newPoller());
    assert.equal(r.newMails, 0);
    assert.match(r.notes.join(" "), /1 commits \(1 without m: deletions\)/);
  });

  test("a new epoch is found in manifest.js.gz and read from its first commit; v3 supersedes v2's queued flow", async () => {
    const v2Flow = (await db.selectFrom("flows").select(["id", "status"]).execute())[0];
    assert.equal(v2Flow?.status, "queued");
    await inbox.addEpoch(1);
    for (const f of V3) await inbox.inject(mail("v3", f));
    const r = await poll(newPoller());
    assert.equal(r.newMails, V3.length);
    assert.match(r.notes.join(" "), new RegExp(`epoch 1: ${V3.length} commits`));
    assert.equal(await getCursor(db, sourceLabel(source), "epoch-1"), await inboxHead(inbox, 1));
    assert.deepEqual(JSON.parse((await getCursor(db, sourceLabel(source), "epochs")) ?? "[]"), [0, 1]);
    assert.equal(r.flows.length, 1, "v3 is enqueued");
    assert.deepEqual(r.superseded, [v2Flow?.id]);
    assert.equal((await getFlow(db, v2Flow!.id))?.status, "superseded");
    assert.equal(await queue.getJob(`${v2Flow!.id}-report`), undefined, "v2's report job is gone");
    assert.equal(await queue.getJob(`${v2Flow!.id}-apply`), undefined, "and its children");
    const v3 = await getSeries(db, (await getFlow(db, r.flows[0]!))!.seriesId);
    assert.equal(v3?.version, 3);
    assert.equal(v3?.complete, true);
  });

  test("configured epochs are read from their first commit (backfill)", async () => {
    const backfill: SourceConfig = { kind: "public-inbox-git", url: inbox.url, list: "bpf", intervalSec: 10, epochs: [0] };
    const other = await openStore(join(dir, "backfill.sqlite"));
    const batch = await createSourcePoller(backfill, { db: other, dataDir: join(dir, "backfill") }).collect();
    await other.destroy();
    // Epoch 0: v1, v2 (4 mails) and one deletion; epoch 1 (newer than 0): v3.
    assert.equal(batch.mails.length, 1 + V2.length + V3.length);
    assert.match(batch.note, /epoch 0: 6 commits \(1 without m: deletions\); epoch 1: 5 commits/);
  });
});
