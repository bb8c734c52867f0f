import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { FlowProducer, Queue } from "bullmq";
import { type Config, globalSchema, type SourceConfig, sourceSchema, treeSchema } from "../../src/config/schema.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { createFlowCanceller } from "../../src/queue/cancel-flow.ts";
import { ORCHESTRATOR_QUEUE } from "../../src/queue/queue-names.ts";
import { type Db, openStore } from "../../src/store/open-store.ts";
import { createSourcePoller, type PollResult, pollOnce } from "../../src/workers/mail-poller.ts";
import { startMailPolling } from "../../src/workers/start-mail-polling.ts";
import { startFakePatchwork, type FakePatchwork } from "../helpers/fake-patchwork.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { AUTOTUNE_FILES, DELACK_FILES, seriesMails } from "./mail-fixture-results.ts";
import { getSeries } from "../../src/store/series-repository.ts";
import { listPatchworkMails, listSeriesWithMail } from "../../src/store/patchwork-repository.ts";

/**
 * The same series from the list (a local mbox of the netdev copies) and
 * from patchwork, polled by the real poll loop into a real Redis: one
 * series, one flow.
 */
let pw: FakePatchwork;
let redis: TestRedis;
let dir: string;
let db: Db;
let flows: FlowProducer;
let queue: Queue;

const mbox = seriesMails(DELACK_FILES)
  .map((b) => `From mboxrd@z Thu Jan  1 00:00:00 1970\n${b.toString("utf8").replace(/\r\n/g, "\n").replace(/\n?$/, "\n")}`)
  .join("\n");

before(async () => {
  [pw, redis] = await Promise.all([startFakePatchwork({ mboxes: [mbox] }), startTestRedis()]);
  dir = mkdtempSync(join(tmpdir(), "pb-pw-flow-"));
  db = await openStore(join(dir, "store.sqlite"));
  const connection = { host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: null };
  flows = new FlowProducer({ connection, prefix: "pbt" });
  queue = new Queue(ORCHESTRATOR_QUEUE, { connection, prefix: "pbt" });
});
after(async () => {
  assert.deepEqual(pw.problems, [], "every request and answer fits patchwork's API description");
  await flows?.close();
  await queue?.close();
  await pw.close();
  await redis?.stop();
  await db?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

test("a series on the list and in patchwork is one series with one flow", async () => {
  const listFile = join(dir, "netdev.mbox");
  writeFileSync(listFile, mbox);
  const sources: SourceConfig[] = [
    { kind: "mbox", path: listFile, intervalSec: 30 },
    sourceSchema.parse({ kind: "patchwork", url: pw.url, project: pw.project.linkName, intervalSec: 10 }),
  ];
  const global = globalSchema.parse({ dataDir: dir, trees: ["net-next"], defaultTree: "net-next" });
  const config: Config = {
    configDir: null,
    global: { ...global, sources, redis: { ...global.redis, prefix: "pbt" } },
    trees: [treeSchema.parse({ name: "net-next", url: "https://git.kernel.org/pub/scm/linux/kernel/git/netdev/net-next.git", tags: ["net-next"], lists: ["netdev@vger.kernel.org"] })],
    secrets: { smtpPassword: null },
    paths: { dataDir: dir, storePath: join(dir, "store.sqlite"), store: join(dir, "store.sqlite"), workDir: join(dir, "work"), outboxDir: join(dir, "outbox") },
  };
  const pollers = sources.map((s) => createSourcePoller(s, { db, dataDir: dir }));
  const r = await pollOnce({ db, config, flows, log: silentLogger(), installationId: "pwtest", pollers, cancelFlow: createFlowCanceller(queue) });
  assert.deepEqual(r.failures, []);
  assert.equal(r.newMails, 4, "4 mails stored once, though both sources delivered them");
  assert.equal(r.flows.length, 1, r.notes.join("; "));
  const series = await db.selectFrom("series").select("id").execute();
  assert.equal(series.length, 1);
  const again = await pollOnce({ db, config, flows, log: silentLogger(), installationId: "pwtest", pollers, cancelFlow: createFlowCanceller(queue) });
  assert.equal(again.newMails, 0);
  assert.equal(again.flows.length, 0);
});

test("a cover letter patchwork gets after it completed the series (cover-created) is fetched and joins the stored series; still one flow", async () => {
  const asMbox = (mails: readonly Buffer[]) => mails.map((b) => `From mboxrd@z Thu Jan  1 00:00:00 1970\n${b.toString("utf8").replace(/\r\n/g, "\n").replace(/\n?$/, "\n")}`).join("");
  const [cover, ...patches] = seriesMails(AUTOTUNE_FILES);
  const [row] = pw.addMbox(asMbox(patches));
  assert.equal(row!.cover, null);
  const sources: SourceConfig[] = [sourceSchema.parse({ kind: "patchwork", url: pw.url, project: pw.project.linkName, intervalSec: 10 })];
  const global = globalSchema.parse({ dataDir: dir, trees: ["net-next"], defaultTree: "net-next" });
  const config: Config = {
    configDir: null,
    global: { ...global, sources, redis: { ...global.redis, prefix: "pbt" } },
    trees: [treeSchema.parse({ name: "net-next", url: "https://git.kernel.org/pub/scm/linux/kernel/git/netdev/net-next.git", tags: ["net-next"], lists: ["netdev@vger.kernel.org"] })],
    secrets: { smtpPassword: null },
    paths: { dataDir: dir, storePath: join(dir, "store.sqlite"), store: join(dir, "store.sqlite"), workDir: join(dir, "work"), outboxDir: join(dir, "outbox") },
  };
  const pollers = sources.map((s) => createSourcePoller(s, { db, dataDir: dir }));
  const poll = () => pollOnce({ db, config, flows, log: silentLogger(), installationId: "pwtest", pollers, cancelFlow: createFlowCanceller(queue) });
  const first = await poll();
  assert.equal(first.flows.length, 1, first.notes.join("; "));
  const [seriesId] = await listSeriesWithMail(db, row!.patches[0]!.mail.msgid);
  assert.ok(seriesId);
  assert.equal((await getSeries(db, seriesId))?.cover, null, "no cover yet");

  pw.addCover(row!.id, asMbox([cover!]));
  const second = await poll();
  assert.equal(second.newMails, 1, second.notes.join("; "));
  assert.deepEqual(second.flows, [], "no second flow");
  const coverId = row!.cover!.mail.msgid;
  assert.equal((await getSeries(db, seriesId))?.cover?.messageId, coverId, "the stored series has its cover now");
  assert.deepEqual(await listSeriesWithMail(db, coverId), [seriesId]);
  assert.deepEqual(
    (await listPatchworkMails(db, { instance: pw.url, project: pw.project.linkName }, [coverId])).map((r) => r.seriesId),
    [row!.id],
    "patchwork's series id is kept on the cover",
  );
  assert.equal((await db.selectFrom("flows").select("id").where("series_id", "=", seriesId).execute()).length, 1);
});

test("a series patchwork holds incomplete waits for the same deadline as list mail, then runs without the missing patch", async () => {
  const asMbox = (mails: readonly Buffer[]) => mails.map((b) => `From mboxrd@z Thu Jan  1 00:00:00 1970\n${b.toString("utf8").replace(/\r\n/g, "\n").replace(/\n?$/, "\n")}`).join("");
  // The cover and patches 1 and 2 of 3: no series-completed from patchwork.
  const [row] = pw.addMbox(asMbox(seriesMails(["tcpclose-0-cover.eml", "tcpclose-1.eml", "tcpclose-2.eml"])));
  assert.equal(row!.patches.length, 2);
  const sources: SourceConfig[] = [sourceSchema.parse({ kind: "patchwork", url: pw.url, project: pw.project.linkName, intervalSec: 10 })];
  const global = globalSchema.parse({ dataDir: dir, trees: ["net-next"], defaultTree: "net-next", ingest: { incompleteAfterSec: 3600 } });
  const config: Config = {
    configDir: null,
    global: { ...global, sources, redis: { ...global.redis, prefix: "pbt" } },
    trees: [treeSchema.parse({ name: "net-next", url: "https://git.kernel.org/pub/scm/linux/kernel/git/netdev/net-next.git", tags: ["net-next"], lists: ["netdev@vger.kernel.org"] })],
    secrets: { smtpPassword: null },
    paths: { dataDir: dir, storePath: join(dir, "store.sqlite"), store: join(dir, "store.sqlite"), workDir: join(dir, "work"), outboxDir: join(dir, "outbox") },
  };
  const pollers = sources.map((s) => createSourcePoller(s, { db, dataDir: dir }));
  const poll = (at: number) => pollOnce({ db, config, flows, log: silentLogger(), installationId: "pwtest", pollers, cancelFlow: createFlowCanceller(queue), now: () => at });
  const first = await poll(Date.now());
  assert.equal(first.newMails, 3, first.notes.join("; "));
  assert.deepEqual(first.flows, [], "waits for the missing patch");
  assert.deepEqual((await poll(Date.now() + 1800_000)).flows, [], "still within ingest.incompleteAfterSec");
  const late = await poll(Date.now() + 3601_000);
  assert.equal(late.flows.length, 1, late.notes.join("; "));
  const [seriesId] = await listSeriesWithMail(db, row!.patches[0]!.mail.msgid);
  const stored = await getSeries(db, seriesId!);
  assert.deepEqual([stored?.missing, stored?.complete, stored?.cover?.messageId], [[3], false, row!.cover!.mail.msgid]);
});

test("a source whose token patchwork refuses: a clear error, and the source is not polled again", async () => {
  const TOKEN_ENV = "PB_TEST_PATCHWORK_SOURCE_BAD_TOKEN";
  process.env[TOKEN_ENV] = "0123456789abcdef-not-a-token";
  // 0.2 s: without the stop, the loop would poll again after 0.4 s and 0.8 s (interval × 2^failures).
  const source = { ...sourceSchema.parse({ kind: "patchwork", url: pw.url, project: pw.project.linkName, tokenEnv: TOKEN_ENV, intervalSec: 10 }), intervalSec: 0.2 } as SourceConfig;
  const global = globalSchema.parse({ dataDir: dir, trees: ["net-next"], defaultTree: "net-next" });
  const config: Config = {
    configDir: null,
    global: { ...global, sources: [source], redis: { ...global.redis, prefix: "pbt" } },
    trees: [treeSchema.parse({ name: "net-next", url: "https://git.kernel.org/pub/scm/linux/kernel/git/netdev/net-next.git", tags: ["net-next"], lists: ["netdev@vger.kernel.org"] })],
    secrets: { smtpPassword: null },
    paths: { dataDir: dir, storePath: join(dir, "store.sqlite"), store: join(dir, "store.sqlite"), workDir: join(dir, "work"), outboxDir: join(dir, "outbox") },
  };
  const polls: PollResult[] = [];
  const refusedBefore = pw.requests.filter((r) => r.status === 403).length;
  const loop = startMailPolling({ db, config, flows, log: silentLogger(), installationId: "pwtest", redis: { host: "127.0.0.1", port: redis.port }, onPoll: (_s, r) => polls.push(r) });
  try {
    while (polls.length < 1) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 2000));
  } finally {
    await loop.close();
    delete process.env[TOKEN_ENV];
  }
  assert.equal(polls.length, 1, "polled once, not again");
  assert.match(String((polls[0]!.failures[0]?.error as Error | undefined)?.message), new RegExp(`refused the API token from env ${TOKEN_ENV}.*check it is current`));
  assert.equal(pw.requests.filter((r) => r.status === 403).length - refusedBefore, 1, "one refused request, not retried");
});
