import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { FlowProducer } from "bullmq";
import { Redis } from "ioredis";
import { readSeriesInput } from "../../src/cli/read-series-input.ts";
import { benchEstimatorFor } from "../../src/commands/bench-estimator.ts";
import { treeSchema } from "../../src/config/schema.ts";
import { createScratchSeries } from "../../src/demo/scratch-series.ts";
import { estimateFlowSeconds } from "../../src/domain/flow-estimate.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { enqueueFlow } from "../../src/queue/enqueue-flow.ts";
import { planFlow } from "../../src/queue/plan-flow.ts";
import { collectRunnerProfile, startHeartbeat } from "../../src/runner/registry/runner-heartbeat.ts";
import { createFlowIfAbsent, setFlowStatus } from "../../src/store/flow-repository.ts";
import { openStore } from "../../src/store/open-store.ts";
import { saveSeries } from "../../src/store/series-repository.ts";
import { queueViewSchema } from "../../src/web/web-view-schemas.ts";
import { renderQueuePage } from "../../src/web/render-queue-page.ts";
import { loadFlowStart, loadQueueView } from "../../src/workers/load-web-views.ts";
import { createQueueStateReader } from "../../src/workers/read-queue-state.ts";
import { serveWeb } from "../../src/workers/serve-web.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";

let redis: TestRedis;
let dir: string;
before(async () => {
  redis = await startTestRedis();
  dir = mkdtempSync(join(tmpdir(), "pb-web-queue-"));
});
after(async () => {
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * Two flows enqueued for real (planFlow, enqueueFlow: stage jobs in the pool's queue, flows in
 * the store) and a runner agent registered by its real heartbeat: the queue page's estimate is
 * the one /bench answers with, and the runner takes the flows one after the other.
 */
test("queue page: flows waiting in a pool with their place, runner time and estimated start from the pool's runners; a flow ended in error under recent failures", async () => {
  const prefix = "pbqe";
  const log = silentLogger();
  const db = await openStore(join(dir, "patchbench.sqlite"));
  const connection = { host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: null };
  const flows = new FlowProducer({ connection, prefix });
  const client = new Redis({ host: "127.0.0.1", port: redis.port });
  const reader = createQueueStateReader({ redis: { host: "127.0.0.1", port: redis.port }, prefix, pools: ["qe"] });
  const web = await serveWeb({ db, log, host: "127.0.0.1", port: 0, trees: [], queue: reader });
  let heartbeat: Awaited<ReturnType<typeof startHeartbeat>> | undefined;
  try {
    const s = await createScratchSeries(join(dir, "series"));
    const box = await readSeriesInput([s.mboxPath]);
    const series = box.series.find((x) => x.kind === "patch")!;
    await saveSeries(db, series, box.raw);
    const bench = { tests: ["TCP_RR"], sizes: [1], topologies: ["loopback"], rounds: 2, maxRounds: 4, runsPerRound: 2, durationSec: 5 };
    const tree = treeSchema.parse({ name: "scratch", url: "unused", path: s.treeDir, pool: "qe", stages: ["apply", "build", "bench"], checks: [], bench });
    const caps = { maxPatches: 100, maxSeriesBytes: 8 << 20 };
    const planned = ["1", "2"].map((rerun) => planFlow({ series, raw: box.raw, tree, installationId: "qe", treeTip: s.baseCommit, caps, rerun }));
    for (const p of planned) {
      await enqueueFlow({ db, flows, log }, p);
      // Apart in time: the store orders unfinished flows by when they were enqueued.
      await new Promise((r) => setTimeout(r, 5));
    }
    await createFlowIfAbsent(db, { id: "flow-gone-wrong", seriesId: series.id, tree: "scratch", base: null, plan: "{}" });
    await setFlowStatus(db, "flow-gone-wrong", "error", true);

    const get = async () => queueViewSchema.parse(await (await fetch(`${web.url}/api/queue`)).json());
    // No runner up in the pool: waiting, placed, but no start.
    const before = await get();
    const [first, second] = planned.map((p) => before.unfinished.find((f) => f.id === p.flowId)!);
    const perFlow = estimateFlowSeconds(tree.bench, (await benchEstimatorFor(db, "scratch")).costs);
    assert.deepEqual([first?.pool, first?.poolPosition, first?.remainingSec, first?.startsAt], ["qe", 1, perFlow, null]);
    assert.deepEqual([second?.pool, second?.poolPosition, second?.startsAt], ["qe", 2, null]);
    assert.deepEqual(before.pools, [{ pool: "qe", idle: 0, busy: 0, running: 0, waiting: 2 }]);
    assert.deepEqual(before.failures.map((f) => f.flowId), ["flow-gone-wrong"]);

    heartbeat = await startHeartbeat({
      redis: client,
      prefix,
      log,
      record: { id: "qe-runner", pool: "qe", host: "here", pid: process.pid, version: "test", startedAt: new Date().toISOString(), heartbeatSec: 5, bootTargets: [], profile: await collectRunnerProfile(), doctor: null },
    });
    const view = await get();
    const [a, b] = planned.map((p) => view.unfinished.find((f) => f.id === p.flowId)!);
    assert.deepEqual(view.pools, [{ pool: "qe", idle: 1, busy: 0, running: 0, waiting: 2 }]);
    // The idle runner takes the first now, the second once the first has had its estimate.
    assert.equal(a?.startsAt, view.now);
    assert.equal(Date.parse(b!.startsAt!) - Date.parse(view.now), perFlow * 1000);
    assert.ok(view.estimateWords.some((w) => /Kernels of scratch: .* from default build times \(no build of this tree yet\)\./.test(w)), view.estimateWords.join("\n"));
    const page = await (await fetch(`${web.url}/queue`)).text();
    assert.match(page, /<h2>Recent failures<\/h2>/);
    assert.match(page, /the flow ended in error: a stage job failed/);
  } finally {
    await heartbeat?.stop();
    await web.close();
    await reader.close();
    await flows.close();
    client.disconnect();
    await db.destroy();
  }
});

/**
 * A long backlog: more flows waiting than one page of stage jobs holds (each flow has a job per
 * stage in the pool's queue). Every flow, the last too, is placed and estimated behind all the
 * others, and the start a /bench acknowledgement gives is that same row.
 */
test("queue estimate with 400 flows waiting: the last is placed 400th and starts after all before it on two runners; the /bench start is the page's", async () => {
  const prefix = "pbqe-long";
  const log = silentLogger();
  const db = await openStore(join(dir, "long.sqlite"));
  const connection = { host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: null };
  const flows = new FlowProducer({ connection, prefix });
  const client = new Redis({ host: "127.0.0.1", port: redis.port });
  const reader = createQueueStateReader({ redis: { host: "127.0.0.1", port: redis.port }, prefix, pools: ["long"] });
  const web = await serveWeb({ db, log, host: "127.0.0.1", port: 0, trees: [], queue: reader });
  const beats: Awaited<ReturnType<typeof startHeartbeat>>[] = [];
  try {
    const s = await createScratchSeries(join(dir, "long-series"));
    const box = await readSeriesInput([s.mboxPath]);
    const series = box.series.find((x) => x.kind === "patch")!;
    await saveSeries(db, series, box.raw);
    const bench = { tests: ["TCP_RR"], sizes: [1], topologies: ["loopback"], rounds: 2, maxRounds: 4, runsPerRound: 2, durationSec: 5 };
    // Four stages: three of them wait for their children, so 400 flows hold 1,200 jobs in that state.
    const tree = treeSchema.parse({ name: "scratch", url: "unused", path: s.treeDir, pool: "long", stages: ["apply", "build", "selftests", "bench"], checks: [], bench });
    const caps = { maxPatches: 100, maxSeriesBytes: 8 << 20 };
    const n = 400;
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const p = planFlow({ series, raw: box.raw, tree, installationId: "long", treeTip: s.baseCommit, caps, rerun: String(i) });
      await enqueueFlow({ db, flows, log }, p);
      ids.push(p.flowId);
      // Apart in time: the store orders unfinished flows by when they were enqueued.
      await new Promise((r) => setTimeout(r, 2));
    }
    for (const id of ["long-a", "long-b"]) {
      beats.push(
        await startHeartbeat({
          redis: client,
          prefix,
          log,
          record: { id, pool: "long", host: "here", pid: process.pid, version: "test", startedAt: new Date().toISOString(), heartbeatSec: 5, bootTargets: [], profile: await collectRunnerProfile(), doctor: null },
        }),
      );
    }
    const perFlow = estimateFlowSeconds(tree.bench, (await benchEstimatorFor(db, "scratch")).costs);
    const view = queueViewSchema.parse(await (await fetch(`${web.url}/api/queue`)).json());
    assert.deepEqual(view.pools, [{ pool: "long", idle: 2, busy: 0, running: 0, waiting: n }]);
    const shown = view.unfinished.filter((f) => f.pool === "long");
    assert.deepEqual(
      shown.map((f) => [f.id, f.poolPosition, f.remainingSec]),
      ids.map((id, i) => [id, i + 1, perFlow]),
      "every flow placed in order with its whole runner time",
    );
    // Two runners: flows 2k+1 and 2k+2 start after k flows' time.
    const last = shown.at(-1)!;
    assert.equal(Date.parse(last.startsAt!) - Date.parse(view.now), Math.floor((n - 1) / 2) * perFlow * 1000);
    const state = await reader.read();
    const start = await loadFlowStart(db, state, ids.at(-1)!, new Date(view.now));
    assert.deepEqual(start && [start.poolPosition, start.startsAt, start.remainingSec], [last.poolPosition, last.startsAt, last.remainingSec]);
    // A page that lists fewer than are waiting: the same estimates for those it lists, and it says so.
    const short = await loadQueueView(db, state, new Date(view.now), 100);
    assert.deepEqual(short.unfinished, view.unfinished.slice(0, 100));
    assert.equal(short.unfinishedTotal, n);
    assert.deepEqual(new Set(short.state.stageJobs.map((j) => j.flowId)), new Set(ids.slice(0, 100)), "the stage jobs of the listed flows only");
    assert.match(renderQueuePage(short), /The first 100 of 400 unfinished flows; each one is estimated behind all the flows before it\./);
  } finally {
    for (const b of beats) await b.stop();
    await web.close();
    await reader.close();
    await flows.close();
    client.disconnect();
    await db.destroy();
  }
});
