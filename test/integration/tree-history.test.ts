/**
 * Real parts: a scratch git tree, Redis, the orchestrator and a runner agent (startWorkers), the
 * store on SQLite, and `patchbench history` as a user runs it. The history loop's round reads
 * the tip, plans a tip flow against the previous measured tip, and the apply stage checks the
 * pair; a rewritten branch is said, not measured across. (Numbers need the kernel tier's build
 * and bench; here the flows stop after apply, so the history lists them without numbers.)
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { FlowProducer, Queue, QueueEvents } from "bullmq";
import { stringify } from "yaml";
import { loadConfig } from "../../src/config/load-config.ts";
import type { Config } from "../../src/config/schema.ts";
import { createScratchTree } from "../../src/demo/scratch-series.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { reportJobId } from "../../src/queue/job-ids.ts";
import { ORCHESTRATOR_QUEUE } from "../../src/queue/queue-names.ts";
import { bullConnection } from "../../src/queue/redis-connection.ts";
import { listDeliveries } from "../../src/store/delivery-repository.ts";
import { type Db, openStore } from "../../src/store/open-store.ts";
import { listStageResults, saveFlowResults } from "../../src/store/result-repository.ts";
import { listTipFlows } from "../../src/store/tip-flow-repository.ts";
import { historyMemory, historyRound, readTip } from "../../src/workers/start-history.ts";
import { startWorkers, type Workers } from "../../src/workers/start-workers.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { runCli } from "../helpers/run-cli.ts";
import { startWebCli } from "../helpers/web-store.ts";
import { treeHistoryViewSchema } from "../../src/web/tree-history-schema.ts";

let dir = "";
let redis: TestRedis;
let config: Config;
let db: Db;
let flows: FlowProducer;
let workers: Workers;
let reports: Queue;
let events: QueueEvents;
let treeDir = "";
const configDir = () => join(dir, "config");
const git = (args: string[]) =>
  execFileSync("git", args, { cwd: treeDir, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "T", GIT_AUTHOR_EMAIL: "t@x", GIT_COMMITTER_NAME: "T", GIT_COMMITTER_EMAIL: "t@x" } }).trim();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "pb-history-"));
  treeDir = (await createScratchTree(join(dir, "scratch"))).treeDir;
  mkdirSync(join(configDir(), "trees"), { recursive: true });
  writeFileSync(join(configDir(), "patchbench.yaml"), stringify({ trees: ["scratch"], defaultTree: "scratch", mail: { dryRun: true } }));
  // History needs build and bench in a config file; this test turns it on in code for an apply-only tree.
  writeFileSync(join(configDir(), "trees", "scratch.yaml"), stringify({ name: "scratch", url: treeDir, path: treeDir, branch: "master", stages: ["apply"] }));
  redis = await startTestRedis();
  config = loadConfig({ configDir: configDir(), flags: { dataDir: join(dir, "data"), redisUrl: redis.url } });
  config.trees = config.trees.map((t) => ({ ...t, history: { enabled: true, everyHours: 0, quietHours: null, budgetMinutesPerDay: 10_000, checkEverySec: 5 } }));
  db = await openStore(config.paths.store);
  const connection = bullConnection({ host: "127.0.0.1", port: redis.port });
  flows = new FlowProducer({ connection, prefix: config.global.redis.prefix });
  reports = new Queue(ORCHESTRATOR_QUEUE, { connection, prefix: config.global.redis.prefix });
  events = new QueueEvents(ORCHESTRATOR_QUEUE, { connection, prefix: config.global.redis.prefix });
  await events.waitUntilReady();
  workers = await startWorkers({ config, redis: { host: "127.0.0.1", port: redis.port }, log: silentLogger(), db, orchestrator: true, pool: config.trees[0]!.pool });
});

after(async () => {
  await workers?.close();
  await events?.close();
  await reports?.close();
  await flows?.close();
  await db?.destroy();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const deps = () => ({ config, db, flows, log: silentLogger(), installationId: "history-test" });
const finished = async (flowId: string) => {
  const job = await reports.getJob(reportJobId(flowId));
  assert.ok(job, `report job of ${flowId}`);
  await job.waitUntilFinished(events, 120_000);
};
const applyOf = async (flowId: string) => (await listStageResults(db, flowId)).results.find((r) => r.stage === "apply")!;
/** What a tip flow with a bench stage stores besides its results: a cell's verdict (the next tip is measured against a tip that gave numbers). */
const gaveNumbers = async (flowId: string) => {
  const { results } = await listStageResults(db, flowId);
  await saveFlowResults(db, flowId, { results, samples: [], verdicts: [{ cell: "TCP_RR/loopback/1", verdict: "no change", data: {} }] });
};

test("tips are measured one against the other as the branch moves; unmoved is not measured again; a rewritten branch is said; nothing is mailed", async () => {
  const memory = historyMemory();
  const said = memory.said;
  // Every round reads the tip at once here (the loop waits checkEverySec between reads of one tree).
  const round = () => {
    memory.readAt.clear();
    return historyRound(deps(), memory);
  };
  const first = git(["rev-parse", "HEAD"]);
  // Without a local path only the origin's refs are read: the commit, no parent, no subject.
  assert.deepEqual(await readTip({ url: treeDir, path: null, branch: "master" }), { head: first, parent: null, subject: null });
  assert.equal(await readTip({ url: treeDir, path: null, branch: "no-such-branch" }), null);
  const [f1] = await round();
  assert.ok(f1, "the first tip is queued");
  await finished(f1);
  await gaveNumbers(f1);
  // One commit, no parent: the first point is an A/A of the tip against itself.
  assert.match((await applyOf(f1)).summary, new RegExp(`scratch tip ${first.slice(0, 12)} against the previous measured tip ${first.slice(0, 12)}: 0 first-parent commit`));

  assert.deepEqual(await round(), []);
  assert.equal(said.get("scratch"), `the tip ${first.slice(0, 12)} is measured already`);

  writeFileSync(join(treeDir, "net", "core", "filter.c"), "/* moved */\n", { flag: "a" });
  git(["commit", "-q", "-a", "-m", "net: a change that lands"]);
  git(["commit", "-q", "--allow-empty", "-m", "net: another"]);
  const second = git(["rev-parse", "HEAD"]);
  const [f2] = await round();
  assert.ok(f2, "the moved tip is queued");
  await finished(f2);
  await gaveNumbers(f2);
  const a2 = await applyOf(f2);
  assert.equal(a2.status, "pass");
  assert.match(a2.summary, new RegExp(`scratch tip ${second.slice(0, 12)} against the previous measured tip ${first.slice(0, 12)}: 2 first-parent commit\\(s\\) in between`));
  assert.deepEqual([(a2.data as { baseCommit: string }).baseCommit, (a2.data as { head: string }).head], [first, second]);

  // Force-pushed: master now starts from a new root; the previous tip is not its ancestor.
  git(["checkout", "-q", "--orphan", "rewritten"]);
  git(["commit", "-q", "-m", "rewritten history"]);
  git(["branch", "-q", "-f", "master", "rewritten"]);
  git(["checkout", "-q", "master"]);
  const [f3] = await round();
  assert.ok(f3);
  await finished(f3);
  const a3 = await applyOf(f3);
  assert.equal(a3.status, "skip");
  assert.match(a3.summary, new RegExp(`the previous measured tip ${second.slice(0, 12)} is not an ancestor of`));

  assert.equal((await listTipFlows(db, "scratch")).length, 3);
  for (const f of [f1, f2, f3]) assert.deepEqual(await listDeliveries(db, f), [], "a tree tip is not mailed");

  const h = await runCli(["--config", configDir(), "--data-dir", join(dir, "data"), "history", "scratch"]);
  assert.equal(h.code, 0, h.stderr);
  assert.match(h.stdout, /^scratch: 0 measured tip\(s\), 0 being measured, 3 without numbers\n/);
  assert.match(h.stdout, new RegExp(`\\n {2}${second.slice(0, 12)} {2}no bench stage ran\\n`));
  assert.match(h.stdout, new RegExp(`\\n {2}\\S{12} {2}apply: the previous measured tip ${second.slice(0, 12)} is not an ancestor`));
  // The dashboard says the same from the same store.
  const web = await startWebCli(join(dir, "data"), redis.url, { PATCHBENCH_CONFIG: configDir() });
  try {
    const page = await fetch(new URL("/trees/scratch", web.url));
    assert.equal(page.status, 200);
    const text = await page.text();
    assert.match(text, /0 measured tips, 0 being measured, 3 without numbers/);
    assert.match(text, new RegExp(`<code>${second.slice(0, 12)}</code></a>: no bench stage ran`));
    const api = treeHistoryViewSchema.parse(await (await fetch(new URL("/api/trees/scratch", web.url))).json());
    assert.deepEqual(api.skipped.map((x) => x.head), [first, second, git(["rev-parse", "HEAD"])]);
    assert.equal((await fetch(new URL("/trees/nope", web.url))).status, 404);
    assert.match(await (await fetch(new URL("/trees", web.url))).text(), /<a href="\/trees\/scratch">scratch<\/a>/);
  } finally {
    assert.equal(await web.stop(), 0);
  }
  const unknown = await runCli(["--config", configDir(), "--data-dir", join(dir, "data"), "history", "nope"]);
  assert.equal(unknown.code, 65);
  assert.match(unknown.stderr, /no tree nope in the config/);
});
