import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket, connect } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { Queue } from "bullmq";
import { createScratchSeries } from "../../src/demo/scratch-series.ts";
import { writeDemoConfig } from "../../src/demo/write-demo-config.ts";
import { splitMbox } from "../../src/ingest/mail/split-mbox.ts";
import { bullConnection } from "../../src/queue/redis-connection.ts";
import { listDeliveries } from "../../src/store/delivery-repository.ts";
import { openStore } from "../../src/store/open-store.ts";
import { CLI } from "../helpers/run-cli.ts";
import { serviceFixture } from "../helpers/service-fixture.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * A TCP relay in front of the real PostgreSQL that can be cut: every open
 * connection dropped and new ones reset, as when the database host goes
 * away, until `restore()`.
 */
async function startRelay(target: { host: string; port: number }): Promise<{ port: number; cut(): void; restore(): void; close(): Promise<void> }> {
  let down = false;
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (down) return client.resetAndDestroy();
    const upstream = connect(target.port, target.host);
    open.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as { port: number }).port,
    cut() {
      down = true;
      for (const s of open) s.resetAndDestroy();
    },
    restore() {
      down = false;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** Longer than the report job's five attempts with backoff (2 + 4 + 8 + 16 s). */
const OUTAGE_MS = 45_000;

const fx = serviceFixture("pb-store-outage-");

test("PostgreSQL unreachable for 45 s mid-flow: the report waits for it, then the flow ends with exactly one report", async () => {
  const u = new URL(fx.pg.url);
  const relay = await startRelay({ host: u.hostname, port: Number(u.port || 5432) });
  u.port = String(relay.port);
  const s = await createScratchSeries(join(fx.dir, "s"));
  const maildir = join(fx.dir, "maildir");
  const configDir = writeDemoConfig({
    dir: fx.dir,
    treePath: s.treeDir,
    maildir,
    bench: { sizes: [1], topologies: ["loopback"], rounds: 2, maxRounds: 2, runsPerRound: 1, durationSec: 1 },
    pollSec: 2,
    stages: ["apply"],
  });
  const dataDir = join(fx.dir, "data");
  const log = join(fx.dir, "service.log");
  const fd = openSync(log, "a");
  const svc = spawn(process.execPath, [CLI, "--redis-url", fx.redis.url, "start"], {
    env: { ...process.env, PATCHBENCH_CONFIG: configDir, PATCHBENCH_DATA_DIR: dataDir, PATCHBENCH_STORE_URL: u.toString(), PATCHBENCH_LOG_LEVEL: "info" },
    stdio: ["ignore", fd, fd],
  });
  const exited = new Promise<number | null>((r) => svc.once("exit", (code) => r(code)));
  const pool = new Queue("pool-local", { connection: bullConnection({ host: "127.0.0.1", port: fx.redis.port }), prefix: "patchbench" });
  try {
    for (const [i, m] of splitMbox(readFileSync(s.mboxPath)).messages.entries()) writeFileSync(join(maildir, "new", `${i}.mail`), m.raw);
    await waitFor("the apply stage to start", async () => (await pool.getActive()).some((j) => j.name === "apply") || undefined, 120_000);
    relay.cut();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    assert.match(readFileSync(log, "utf8"), /the store cannot be reached: the job waits for it/);
    relay.restore();

    const outbox = join(dataDir, "outbox");
    await waitFor("the report", () => (existsSync(outbox) ? readdirSync(outbox).find((f) => f.endsWith(".eml")) : undefined), 120_000);
    const db = await openStore(fx.pg.url);
    try {
      const flows = await db.selectFrom("flows").selectAll().execute();
      assert.equal(flows.length, 1);
      assert.notEqual(flows[0]!.finished_at, null, "the flow is finished in the store");
      assert.equal((await listDeliveries(db, flows[0]!.id)).length, 1, "one report");
    } finally {
      await db.destroy();
    }
    assert.equal(readdirSync(outbox).filter((f) => f.endsWith(".eml")).length, 1);
    assert.equal(svc.exitCode, null, "the service kept running through the outage");
  } finally {
    await pool.close();
    relay.restore();
    svc.kill("SIGTERM");
    const code = await exited;
    await relay.close();
    assert.equal(code, 0, readFileSync(log, "utf8").slice(-2000));
  }
});
