import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Queue } from "bullmq";
import { createScratchSeries } from "../../src/demo/scratch-series.ts";
import { writeDemoConfig } from "../../src/demo/write-demo-config.ts";
import { splitMbox } from "../../src/ingest/mail/split-mbox.ts";
import { bullConnection } from "../../src/queue/redis-connection.ts";
import { listDeliveries } from "../../src/store/delivery-repository.ts";
import { openStore } from "../../src/store/open-store.ts";
import { CLI } from "../helpers/run-cli.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { waitFor } from "../helpers/wait-for.ts";

let redis: TestRedis;
let dir: string;
before(async () => {
  redis = await startTestRedis();
  dir = mkdtempSync(join(tmpdir(), "pb-restart-"));
});
after(async () => {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

function startService(configDir: string, dataDir: string, log: string): ChildProcess {
  const fd = openSync(log, "a");
  return spawn(process.execPath, [CLI, "--redis-url", redis.url, "start"], {
    env: { ...process.env, PATCHBENCH_CONFIG: configDir, PATCHBENCH_DATA_DIR: dataDir, PATCHBENCH_LOG_LEVEL: "info" },
    stdio: ["ignore", fd, fd],
  });
}

test("SIGTERM mid-flow stops cleanly; a restart finishes the flow with exactly one report", async () => {
  const s = await createScratchSeries(join(dir, "s"));
  const dataDir = join(dir, "data");
  const maildir = join(dir, "maildir");
  const configDir = writeDemoConfig({
    dir,
    treePath: s.treeDir,
    maildir,
    bench: { sizes: [1], topologies: ["loopback"], rounds: 4, maxRounds: 4, runsPerRound: 2, durationSec: 2 },
    pollSec: 1,
  });
  const log = join(dir, "service.log");
  const pool = new Queue("pool-local", { connection: bullConnection({ host: "127.0.0.1", port: redis.port }), prefix: "patchbench" });
  try {
    let svc = startService(configDir, dataDir, log);
    for (const [i, m] of splitMbox(readFileSync(s.mboxPath)).messages.entries()) {
      writeFileSync(join(maildir, "new", `${i}.mail`), m.raw);
    }
    // Wait until the bench stage is running, then stop the service.
    await waitFor("the bench stage to start", async () => (await pool.getActive()).some((j) => j.name === "bench") || undefined, 120_000);
    await new Promise((r) => setTimeout(r, 3000));
    const t0 = Date.now();
    svc.kill("SIGTERM");
    const code = await new Promise<number | null>((r) => svc.once("exit", r));
    assert.equal(code, 0, readFileSync(log, "utf8").slice(-2000));
    assert.ok(Date.now() - t0 < 30_000, "stops within 30 s");
    assert.equal((await pool.getActive()).length, 0, "no job left active (stuck)");
    const back = [...(await pool.getDelayed()), ...(await pool.getWaiting())].map((j) => j.name);
    assert.deepEqual(back, ["bench"], "the interrupted stage went back to the queue");
    assert.equal(existsSync(join(dataDir, "outbox")) && readdirSync(join(dataDir, "outbox")).length > 0, false);
    assert.match(readFileSync(log, "utf8"), /stage interrupted by shutdown/);

    svc = startService(configDir, dataDir, log);
    const outbox = join(dataDir, "outbox");
    await waitFor("the report", () => (existsSync(outbox) ? readdirSync(outbox).find((f) => f.endsWith(".eml")) : undefined), 240_000);
    svc.kill("SIGTERM");
    assert.equal(await new Promise<number | null>((r) => svc.once("exit", r)), 0);

    const emls = readdirSync(outbox).filter((f) => f.endsWith(".eml"));
    assert.equal(emls.length, 1);
    const db = await openStore(join(dataDir, "patchbench.sqlite"));
    try {
      assert.equal((await db.selectFrom("flows").selectAll().execute()).length, 1);
      assert.equal((await listDeliveries(db)).length, 1);
      const samples = await db.selectFrom("samples").selectAll().execute();
      assert.equal(samples.filter((x) => x.ok === 1).length, 4 * 2 * 2, "4 rounds x 2 variants x 2 runs, none twice");
    } finally {
      await db.destroy();
    }
  } finally {
    await pool.close();
  }
});
