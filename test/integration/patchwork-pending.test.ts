import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Queue, Worker } from "bullmq";
import { type Config, globalSchema, treeSchema } from "../../src/config/schema.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { poolQueue } from "../../src/queue/queue-names.ts";
import { createFlowIfAbsent, setFlowStatus } from "../../src/store/flow-repository.ts";
import { deliverPatchworkPending } from "../../src/deliver/patchwork/deliver-patchwork.ts";
import { type Db, openStore } from "../../src/store/open-store.ts";
import { saveSeries } from "../../src/store/series-repository.ts";
import { watchPatchworkStages } from "../../src/workers/watch-patchwork-stages.ts";
import { startFakePatchwork, type FakePatchwork } from "../helpers/fake-patchwork.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { DELACK_FILES, seriesMails, seriesOf } from "./mail-fixture-results.ts";

/**
 * A runner taking a flow's stage from the pool queue (real Redis, BullMQ)
 * puts `pending` in that stage's context on each of the series' patches
 * in patchwork (the local stand-in), as GitHub check runs go in_progress.
 */
const TOKEN_ENV = "PB_TEST_PATCHWORK_PENDING_TOKEN";
let pw: FakePatchwork;
let redis: TestRedis;
let dir: string;
let db: Db;

before(async () => {
  const mbox = seriesMails(DELACK_FILES)
    .map((b) => `From mboxrd@z Thu Jan  1 00:00:00 1970\n${b.toString("utf8").replace(/\r\n/g, "\n").replace(/\n?$/, "\n")}`)
    .join("");
  [pw, redis] = await Promise.all([startFakePatchwork({ mboxes: [mbox] }), startTestRedis()]);
  process.env[TOKEN_ENV] = pw.maintainerToken;
  dir = mkdtempSync(join(tmpdir(), "pb-pw-pending-"));
  db = await openStore(join(dir, "store.sqlite"));
});
after(async () => {
  delete process.env[TOKEN_ENV];
  assert.deepEqual(pw.problems, [], "every request and answer fits patchwork's API description");
  await pw.close();
  await redis?.stop();
  await db?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

test("a stage taken by a runner is pending on patchwork, once, on every patch of the series", async () => {
  const series = await seriesOf(DELACK_FILES);
  await saveSeries(db, series, new Map());
  await createFlowIfAbsent(db, { id: "flow-pw-pending", seriesId: series.id, tree: "net-next", base: null, plan: "{}" });
  const global = globalSchema.parse({ patchwork: { enabled: true, url: pw.url, project: pw.project.linkName, tokenEnv: TOKEN_ENV } });
  const config: Config = {
    configDir: null,
    global: { ...global, redis: { ...global.redis, prefix: "pbt" } },
    trees: [treeSchema.parse({ name: "net-next", url: "unused", lists: ["netdev@vger.kernel.org"] })],
    secrets: { smtpPassword: null },
    paths: { dataDir: dir, storePath: join(dir, "store.sqlite"), store: join(dir, "store.sqlite"), workDir: join(dir, "work"), outboxDir: join(dir, "outbox") },
  };
  const connection = { host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: null };
  const watcher = watchPatchworkStages({ config, db, log: silentLogger(), connection });
  await watcher.ready();
  const queue = new Queue(poolQueue("local"), { connection, prefix: "pbt" });
  const patchIds = pw.series[0]!.patches.map((p) => p.id);
  // The "runner" holds the stage until patchwork shows it pending.
  const worker = new Worker(
    poolQueue("local"),
    async () => {
      await waitFor("pending checks", () => pw.checks.filter((c) => c.context === "patchbench-apply").length === 3, 30_000);
      return {};
    },
    { connection, prefix: "pbt" },
  );
  try {
    await queue.add("apply", {}, { jobId: "flow-pw-pending-apply" });
    await waitFor("the stage done", async () => (await queue.getCompletedCount()) === 1, 30_000);
    assert.deepEqual(
      pw.checks.map((c) => `${c.patchId} ${c.context} ${c.state}`).sort(),
      patchIds.map((id) => `${id} patchbench-apply pending`).sort(),
    );
    assert.match(pw.checks[0]!.description ?? "", /apply: running/);
  } finally {
    await worker.close();
    await queue.close();
    await watcher.close();
  }
});

test("several orchestrators hear the same stage start: the pending check is posted once", async () => {
  const series = await seriesOf(DELACK_FILES);
  await createFlowIfAbsent(db, { id: "flow-pw-two", seriesId: series.id, tree: "net-next", base: null, plan: "{}" });
  const global = globalSchema.parse({ patchwork: { enabled: true, url: pw.url, project: pw.project.linkName, tokenEnv: TOKEN_ENV } });
  const config: Config = {
    configDir: null,
    global: { ...global, redis: { ...global.redis, prefix: "pbt" } },
    trees: [treeSchema.parse({ name: "net-next", url: "unused", lists: ["netdev@vger.kernel.org"] })],
    secrets: { smtpPassword: null },
    paths: { dataDir: dir, storePath: join(dir, "store.sqlite"), store: join(dir, "store.sqlite"), workDir: join(dir, "work"), outboxDir: join(dir, "outbox") },
  };
  const connection = { host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: null };
  // Three orchestrators, each with its own connection to the one store.
  const dbs = [db, await openStore(join(dir, "store.sqlite")), await openStore(join(dir, "store.sqlite"))];
  const watchers = dbs.map((d) => watchPatchworkStages({ config, db: d, log: silentLogger(), connection }));
  await Promise.all(watchers.map((w) => w.ready()));
  const queue = new Queue(poolQueue("local"), { connection, prefix: "pbt" });
  const posts = () => pw.requests.filter((r) => r.operationId === "checks_create" && r.status === 201).length;
  const before = posts();
  const worker = new Worker(
    poolQueue("local"),
    async () => {
      await waitFor("pending checks", () => pw.checks.filter((c) => c.context === "patchbench-build").length >= 3, 30_000);
      // Time for a second orchestrator to post as well, were it going to.
      await new Promise((r) => setTimeout(r, 1000));
      return {};
    },
    { connection, prefix: "pbt" },
  );
  try {
    await queue.add("build", {}, { jobId: "flow-pw-two-build" });
    await waitFor("the stage done", async () => (await queue.getCompletedCount()) === 2, 30_000);
    assert.equal(pw.checks.filter((c) => c.context === "patchbench-build").length, 3);
    assert.equal(posts() - before, 3, "one POST per patch, from one orchestrator");
    const row = await db.selectFrom("deliveries").select(["status"]).where("id", "=", "flow-pw-two-patchwork-pending-build").executeTakeFirstOrThrow();
    assert.equal(row.status, "sent");
  } finally {
    await worker.close();
    await queue.close();
    await Promise.all(watchers.map((w) => w.close()));
    await Promise.all(dbs.slice(1).map((d) => d.destroy()));
  }
});

test("a flow withdrawn while its pending check was in flight: the check is ended after all", async () => {
  const series = await seriesOf(DELACK_FILES);
  await createFlowIfAbsent(db, { id: "flow-pw-late", seriesId: series.id, tree: "net-next", base: null, plan: "{}" });
  const global = globalSchema.parse({ patchwork: { enabled: true, url: pw.url, project: pw.project.linkName, tokenEnv: TOKEN_ENV } });
  const config: Config = {
    configDir: null,
    global: { ...global, redis: { ...global.redis, prefix: "pbt" } },
    trees: [treeSchema.parse({ name: "net-next", url: "unused", lists: ["netdev@vger.kernel.org"] })],
    secrets: { smtpPassword: null },
    paths: { dataDir: dir, storePath: join(dir, "store.sqlite"), store: join(dir, "store.sqlite"), workDir: join(dir, "work"), outboxDir: join(dir, "outbox") },
  };
  const connection = { host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: null };
  // The withdrawal (and its ending of pending checks, which found none) lands while the pending is posted.
  const watcher = watchPatchworkStages({
    config,
    db,
    log: silentLogger(),
    connection,
    deliver: async (deps, input) => {
      const out = await deliverPatchworkPending(deps, input);
      await setFlowStatus(db, input.flowId, "superseded", true);
      return out;
    },
  });
  await watcher.ready();
  const queue = new Queue(poolQueue("local"), { connection, prefix: "pbt" });
  const selftests = () => pw.checks.filter((c) => c.context === "patchbench-selftests");
  const worker = new Worker(poolQueue("local"), async () => ({}), { connection, prefix: "pbt" });
  try {
    await queue.add("selftests", {}, { jobId: "flow-pw-late-selftests" });
    await waitFor("pending, then ended", () => selftests().length === 6, 30_000);
    const last = new Map(selftests().map((c) => [c.patchId, c]));
    for (const c of last.values()) {
      assert.equal(c.state, "success");
      assert.equal(c.description, "not run: withdrawn (superseded)");
    }
  } finally {
    await worker.close();
    await queue.close();
    await watcher.close();
  }
});
