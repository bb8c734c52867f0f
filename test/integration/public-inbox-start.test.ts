import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { openStore } from "../../src/store/open-store.ts";
import { getSeries } from "../../src/store/series-repository.ts";
import { PROJECT_ROOT, readFixture } from "../helpers/fixtures.ts";
import { startTestInbox, type TestInbox } from "../helpers/public-inbox.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { CLI } from "../helpers/run-cli.ts";
import { waitFor } from "../helpers/wait-for.ts";

const V2 = ["00-cover.eml", "01-1-reply-acked-by-yonghong.eml", "01-patch.eml", "02-patch.eml"];
const mail = (v: string, f: string): Buffer => readFixture("mail", "bpf-sysctl-get-name", v, f);

let inbox: TestInbox;
let redis: TestRedis;
let dir: string;

before(async () => {
  [inbox, redis] = await Promise.all([startTestInbox({ list: "bpf" }), startTestRedis()]);
  dir = mkdtempSync(join(tmpdir(), "pb-pi-start-"));
});
after(async () => {
  await Promise.all([inbox?.stop(), redis?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("`patchbench start` follows a list's git epochs and enqueues a series mailed while it runs", async () => {
  await inbox.inject(mail("v1", "00-single-patch.eml"));
  const configDir = join(dir, "config");
  mkdirSync(join(configDir, "trees"), { recursive: true });
  cpSync(join(PROJECT_ROOT, "config", "trees", "bpf-next.yaml"), join(configDir, "trees", "bpf-next.yaml"));
  const dataDir = join(dir, "data");
  writeFileSync(
    join(configDir, "patchbench.yaml"),
    [
      `dataDir: ${JSON.stringify(dataDir)}`,
      "sources:",
      "  - kind: public-inbox-git",
      `    url: ${JSON.stringify(inbox.url)}`,
      "    list: bpf",
      "    intervalSec: 10",
      "trees: [bpf-next]",
      "",
    ].join("\n"),
  );
  const child = spawn(process.execPath, [CLI, "--config", configDir, "start", "--no-runner"], {
    env: { ...process.env, REDIS_URL: redis.url, PATCHBENCH_LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout.resume();
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const db = await waitFor("the store", async () => {
    try {
      return await openStore(join(dataDir, "patchbench.sqlite"));
    } catch {
      return undefined;
    }
  }, 30_000);
  try {
    // The first poll only records the epoch's head (following starts now).
    await waitFor(
      "the first poll",
      async () => (await db.selectFrom("cursors").select("value").where("key", "=", "epoch-0").executeTakeFirst())?.value,
      30_000,
    );
    for (const f of V2) await inbox.inject(mail("v2", f));
    const flow = await waitFor("a flow", async () => db.selectFrom("flows").selectAll().executeTakeFirst(), 40_000);
    const series = await getSeries(db, flow.series_id);
    assert.equal(series?.version, 2);
    assert.equal(series?.patches.length, 2);
    assert.equal(flow.status, "queued");
  } finally {
    child.kill("SIGTERM");
    const code = await exited;
    await db.destroy();
    assert.equal(code, 0, stderr.slice(-2000));
  }
});
