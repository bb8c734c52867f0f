import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { FlowProducer, Queue } from "bullmq";
import { type Config, globalSchema, type SourceConfig, treeSchema } from "../../src/config/schema.ts";
import { fetchConditional } from "../../src/ingest/public-inbox/fetch-conditional.ts";
import type { Fetch } from "../../src/ingest/public-inbox/inbox-source.ts";
import { pollHttpInbox } from "../../src/ingest/public-inbox/poll-http-inbox.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { ORCHESTRATOR_QUEUE } from "../../src/queue/queue-names.ts";
import { setCursor } from "../../src/store/cursor-repository.ts";
import { getFlow } from "../../src/store/flow-repository.ts";
import { type Db, openStore } from "../../src/store/open-store.ts";
import { getSeries } from "../../src/store/series-repository.ts";
import {
  createSourcePoller,
  type PollResult,
  pollOnce,
  type SourcePoller,
  sourceLabel,
} from "../../src/workers/mail-poller.ts";
import { startMailPolling } from "../../src/workers/start-mail-polling.ts";
import { readFixture } from "../helpers/fixtures.ts";
import { startTestInbox, type TestInbox } from "../helpers/public-inbox.ts";
import { createFlowCanceller } from "../../src/queue/cancel-flow.ts";
import { freePort, startTestRedis, type TestRedis } from "../helpers/redis-server.ts";

const V2 = ["00-cover.eml", "01-1-reply-acked-by-yonghong.eml", "01-patch.eml", "02-patch.eml"];
const V3 = ["00-cover.eml", "01-1-reply-acked-by-yonghong.eml", "01-patch.eml", "02-2-reply-acked-by-yonghong.eml", "02-patch.eml"];
const mail = (v: string, f: string): Buffer => readFixture("mail", "bpf-sysctl-get-name", v, f);

function testConfig(dataDir: string, sources: SourceConfig[], incompleteAfterSec: number): Config {
  const global = globalSchema.parse({ dataDir, sources: [], ingest: { incompleteAfterSec }, trees: ["bpf-next"], defaultTree: "bpf-next" });
  const tree = treeSchema.parse({ name: "bpf-next", url: "https://git.kernel.org/pub/scm/linux/kernel/git/bpf/bpf-next.git", tags: ["bpf-next"] });
  return {
    configDir: null,
    global: { ...global, sources, redis: { ...global.redis, prefix: "pbt" } },
    trees: [tree],
    secrets: { smtpPassword: null },
    paths: { dataDir, storePath: join(dataDir, "store.sqlite"), store: join(dataDir, "store.sqlite"), workDir: join(dataDir, "work"), outboxDir: join(dataDir, "outbox") },
  };
}

/** Replace the Message-ID header of a real mail (headers only; body untouched). */
function withMessageId(raw: Buffer, id: string): Buffer {
  const end = raw.indexOf("\n\n");
  const head = raw.subarray(0, end).toString("latin1").replace(/^Message-ID:.*$/im, `Message-ID: <${id}>`);
  return Buffer.concat([Buffer.from(head, "latin1"), raw.subarray(end)]);
}

describe("public-inbox HTTP source (real public-inbox-httpd)", () => {
  let inbox: TestInbox;
  let redis: TestRedis;
  let dir: string;
  let db: Db;
  let flows: FlowProducer;
  let queue: Queue;
  let config: Config;
  let source: SourceConfig;
  let poller: SourcePoller;
  const requests: string[] = [];
  // The real fetch, recording what was asked.
  const recordingFetch: Fetch = (input, init) => {
    requests.push(String(input));
    return fetch(input, init);
  };
  const log = silentLogger();
  const connection = () => ({ host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: null });
  const poll = (): Promise<PollResult> =>
    pollOnce({ db, config, flows, log, installationId: "pitest", pollers: [poller], cancelFlow: createFlowCanceller(queue) });

  before(async () => {
    [inbox, redis] = await Promise.all([startTestInbox({ list: "bpf" }), startTestRedis()]);
    dir = mkdtempSync(join(tmpdir(), "pb-pi-http-"));
    db = await openStore(join(dir, "store.sqlite"));
    flows = new FlowProducer({ connection: connection(), prefix: "pbt" });
    queue = new Queue(ORCHESTRATOR_QUEUE, { connection: connection(), prefix: "pbt" });
    source = { kind: "public-inbox-http", url: inbox.url, list: "bpf", intervalSec: 10 };
    config = testConfig(dir, [source], 3600);
    poller = createSourcePoller(source, { db, dataDir: dir, fetch: recordingFetch });
  });
  after(async () => {
    await flows?.close();
    await queue?.close();
    await db?.destroy();
    await Promise.all([inbox?.stop(), redis?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("first poll follows from now; a series injected while it runs is fetched by /raw and enqueued", async () => {
    await inbox.inject(mail("v1", "00-single-patch.eml"));
    const first = await poll();
    assert.equal(first.newMails, 0, "history is not replayed");
    for (const f of V2) await inbox.inject(mail("v2", f));
    requests.length = 0;
    const r = await poll();
    assert.equal(r.newMails, V2.length);
    assert.equal(r.flows.length, 1);
    assert.equal(requests.filter((u) => u.endsWith("/raw")).length, V2.length, "one /raw per new feed entry");
    assert.ok(requests.includes(`${inbox.url}/bpf/20250610091933.717824-2-jmarchan%40redhat.com/raw`));
    const flow = await getFlow(db, r.flows[0]!);
    const series = await getSeries(db, flow!.seriesId);
    assert.equal(series?.version, 2);
    assert.equal(series?.complete, true);
    assert.equal(await (await queue.getJob(`${flow!.id}-report`))?.getState(), "waiting-children");
  });

  test("unchanged feed: public-inbox 1.9 sends no validators for new.atom, so the poll stops at the feed (body hash)", async () => {
    const res = await fetch(`${inbox.url}/bpf/new.atom`);
    await res.arrayBuffer();
    assert.equal(res.headers.get("etag"), null);
    assert.equal(res.headers.get("last-modified"), null);
    // And it ignores the conditional headers: still a 200 with the body.
    const cond = await fetch(`${inbox.url}/bpf/new.atom`, { headers: { "if-modified-since": new Date(Date.now() + 86_400_000).toUTCString() } });
    await cond.arrayBuffer();
    assert.equal(cond.status, 200);
    requests.length = 0;
    const r = await poll();
    assert.equal(r.newMails, 0);
    assert.deepEqual(requests, [`${inbox.url}/bpf/new.atom`]);
    assert.match(r.notes.join(" "), /feed unchanged/);
  });

  test("conditional GET against a server that sends validators: If-None-Match and If-Modified-Since are sent, 304 costs no body", async () => {
    const feed = Buffer.from(await (await fetch(`${inbox.url}/bpf/new.atom`)).arrayBuffer());
    const seen: { inm: string | undefined; ims: string | undefined }[] = [];
    const lastModified = new Date(Date.now() - 60_000).toUTCString();
    const server: Server = createServer((req, res) => {
      seen.push({ inm: req.headers["if-none-match"], ims: req.headers["if-modified-since"] });
      if (req.headers["if-none-match"] === '"v1"') {
        res.writeHead(304).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/atom+xml", etag: '"v1"', "last-modified": lastModified }).end(feed);
    });
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    try {
      const cursors = new Map<string, string>();
      const store = { get: async (k: string) => cursors.get(k), set: async (k: string, v: string) => void cursors.set(k, v) };
      const src = { url: `http://127.0.0.1:${port}`, list: "bpf" };
      const a = await pollHttpInbox({ cursors: store }, src);
      await a.commit();
      const b = await pollHttpInbox({ cursors: store }, src);
      assert.equal(b.note, "feed not modified (304)");
      assert.deepEqual(seen, [
        { inm: undefined, ims: undefined },
        { inm: '"v1"', ims: lastModified },
      ]);
      const direct = await fetchConditional(fetch, `http://127.0.0.1:${port}/bpf/new.atom`, { validators: { etag: '"v1"', lastModified: null } });
      assert.equal(direct.status, "not-modified");
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test("hostile Message-IDs are one encoded path segment", async () => {
    const id = "a/../../b?x=1#frag%2F@evil.example";
    await inbox.inject(withMessageId(mail("v1", "00-single-patch.eml"), id));
    requests.length = 0;
    const r = await poll();
    assert.equal(r.newMails, 1);
    assert.deepEqual(requests, [`${inbox.url}/bpf/new.atom`, `${inbox.url}/bpf/${encodeURIComponent(id)}/raw`]);
    const row = await db.selectFrom("raw_mails").select("message_id").where("message_id", "=", id).executeTakeFirst();
    assert.equal(row?.message_id, id);
  });

  test("when the feed moved past every entry we knew, whole threads come from t.mbox.gz; v3 supersedes v2's queued flow", async () => {
    const v2Flow = (await db.selectFrom("flows").select(["id", "status"]).execute())[0];
    assert.equal(v2Flow?.status, "queued");
    for (const f of V3) await inbox.inject(mail("v3", f));
    // As after a long outage: none of the entries we remember is in the feed any more.
    await setCursor(db, sourceLabel(source), "seen", JSON.stringify(["long-gone@example.org"]));
    requests.length = 0;
    const r = await poll();
    const threads = requests.filter((u) => u.endsWith("/t.mbox.gz"));
    assert.ok(threads.length >= 1, "threads fetched");
    assert.equal(requests.filter((u) => u.endsWith("/raw")).length, 0);
    // Every entry of the feed counts as unseen now, so v1 (skipped by the first poll's baseline) is filled in too.
    assert.equal(r.newMails, V3.length + 1, "every v3 mail plus v1, and nothing stored twice");
    const v1 = await db.selectFrom("raw_mails").select("message_id").where("message_id", "=", "20250527165412.533335-1-jmarchan@redhat.com").executeTakeFirst();
    assert.ok(v1);
    assert.equal(r.flows.length, 1);
    assert.deepEqual(r.superseded, [v2Flow?.id]);
    assert.equal((await getFlow(db, v2Flow!.id))?.status, "superseded");
    assert.equal(await queue.getJob(`${v2Flow!.id}-report`), undefined);
  });

  test("the poll loop backs off while the server is down (interval × 2^failures) and recovers", async () => {
    await inbox.stopHttpd();
    const polls: { at: number; failed: boolean }[] = [];
    const fast = { ...source, intervalSec: 0.5 } as SourceConfig;
    const loop = startMailPolling({
      db,
      config: { ...config, global: { ...config.global, sources: [fast] } },
      flows,
      log,
      installationId: "pitest",
      redis: { host: "127.0.0.1", port: redis.port },
      onPoll: (_s, r) => polls.push({ at: Date.now(), failed: r.failures.length > 0 }),
    });
    try {
      const until = async (n: number) => {
        while (polls.length < n) await new Promise((r) => setTimeout(r, 50));
      };
      await until(3);
      assert.deepEqual(
        polls.map((p) => p.failed),
        [true, true, true],
      );
      // Delays are at least 0.5 × 2^1 and 0.5 × 2^2 seconds (timers never fire early).
      assert.ok(polls[1]!.at - polls[0]!.at >= 990, `second gap ${polls[1]!.at - polls[0]!.at} ms`);
      assert.ok(polls[2]!.at - polls[1]!.at >= 1990, `third gap ${polls[2]!.at - polls[1]!.at} ms`);
      await inbox.startHttpd();
      await until(4);
      assert.equal(polls[3]?.failed, false, "recovers once the server answers");
      assert.ok(polls[3]!.at - polls[2]!.at >= 3990);
    } finally {
      await loop.close();
    }
  });
});
