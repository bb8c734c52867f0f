import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { createScratchSeries } from "../../src/demo/scratch-series.ts";
import { writeDemoConfig } from "../../src/demo/write-demo-config.ts";
import { splitMbox } from "../../src/ingest/mail/split-mbox.ts";
import { reportJobId } from "../../src/queue/job-ids.ts";
import { ORCHESTRATOR_QUEUE } from "../../src/queue/queue-names.ts";
import { bullConnection } from "../../src/queue/redis-connection.ts";
import { listDeliveries } from "../../src/store/delivery-repository.ts";
import { openStore } from "../../src/store/open-store.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { CLI } from "../helpers/run-cli.ts";
import { waitFor } from "../helpers/wait-for.ts";

let redis: TestRedis;
let dir: string;
before(async () => {
  redis = await startTestRedis();
  dir = mkdtempSync(join(tmpdir(), "pb-lost-"));
});
after(async () => {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});


test("Redis loses everything (FLUSHALL) while a flow is queued: the service enqueues it again and it runs to one report", async () => {
  const s = await createScratchSeries(join(dir, "s"));
  const dataDir = join(dir, "data");
  const maildir = join(dir, "maildir");
  const configDir = writeDemoConfig({
    dir,
    treePath: s.treeDir,
    maildir,
    bench: { sizes: [1], topologies: ["loopback"], rounds: 2, maxRounds: 2, runsPerRound: 1, durationSec: 1 },
    pollSec: 1,
  });
  const globalFile = join(configDir, "patchbench.yaml");
  writeFileSync(globalFile, readFileSync(globalFile, "utf8").replace(/^ {2}reconcileSec: 300$/m, "  reconcileSec: 2"));
  const log = join(dir, "service.log");
  const fd = openSync(log, "a");
  // No local runner at first: the flow stays queued, so the flush surely catches it there.
  const start = (extra: string[]): ChildProcess =>
    spawn(process.execPath, [CLI, "--redis-url", redis.url, "start", ...extra], {
      env: { ...process.env, PATCHBENCH_CONFIG: configDir, PATCHBENCH_DATA_DIR: dataDir, PATCHBENCH_LOG_LEVEL: "info" },
      stdio: ["ignore", fd, fd],
    });
  const client = new Redis({ host: "127.0.0.1", port: redis.port });
  const reports = new Queue(ORCHESTRATOR_QUEUE, { connection: bullConnection({ host: "127.0.0.1", port: redis.port }), prefix: "patchbench" });
  let svc = start(["--no-runner"]);
  try {
    for (const [i, m] of splitMbox(readFileSync(s.mboxPath)).messages.entries()) writeFileSync(join(maildir, "new", `${i}.mail`), m.raw);
    const storePath = join(dataDir, "patchbench.sqlite");
    const flowId = await waitFor(
      "the flow in the store",
      async () => {
        if (!existsSync(storePath)) return undefined;
        const db = await openStore(storePath);
        try {
          return (await db.selectFrom("flows").select("id").executeTakeFirst())?.id;
        } finally {
          await db.destroy();
        }
      },
      60_000,
    );
    assert.ok(await reports.getJob(reportJobId(flowId)), "Redis holds the flow");
    await client.flushall();
    assert.equal(await reports.getJobState(reportJobId(flowId)), "unknown", "Redis lost it");
    // The timer (reconcileSec: 2) notices and enqueues it again with the same ids.
    await waitFor("the flow back in Redis", async () => ((await reports.getJobState(reportJobId(flowId))) !== "unknown" ? true : undefined), 30_000);
    svc.kill("SIGTERM");
    assert.equal(await new Promise<number | null>((r) => svc.once("exit", r)), 0);

    svc = start([]);
    const outbox = join(dataDir, "outbox");
    await waitFor("the report", () => (existsSync(outbox) ? readdirSync(outbox).find((f) => f.endsWith(".eml")) : undefined), 240_000);
    svc.kill("SIGTERM");
    assert.equal(await new Promise<number | null>((r) => svc.once("exit", r)), 0);

    const text = readFileSync(log, "utf8");
    const lines = text.split("\n").filter((l) => l.includes("flow enqueued again"));
    assert.ok(lines.length >= 1, text.slice(-3000));
    assert.ok(lines.every((l) => l.includes(flowId) && l.includes("Redis has no report job")), lines.join("\n"));
    assert.match(text, /"level":40[^\n]*Redis keeps nothing on disk/, "the volatile Redis is warned about");
    assert.deepEqual(readdirSync(outbox).filter((f) => f.endsWith(".eml")), [`${flowId}.eml`], "one report");
    const db = await openStore(storePath);
    try {
      const flows = await db.selectFrom("flows").selectAll().execute();
      assert.equal(flows.length, 1);
      assert.notEqual(flows[0]!.finished_at, null, "the flow finished");
      assert.equal((await listDeliveries(db)).length, 1);
    } finally {
      await db.destroy();
    }
  } finally {
    if (svc.exitCode === null) svc.kill("SIGKILL");
    client.disconnect();
    await reports.close();
  }
});
