import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Queue } from "bullmq";
import { reportJobId } from "../../src/queue/job-ids.ts";
import { ORCHESTRATOR_QUEUE } from "../../src/queue/queue-names.ts";
import { createFlowIfAbsent } from "../../src/store/flow-repository.ts";
import { openStore } from "../../src/store/open-store.ts";
import { saveSeries } from "../../src/store/series-repository.ts";
import { runViewSchema, seriesListViewSchema } from "../../src/web/web-view-schemas.ts";
import { PROJECT_ROOT } from "../helpers/fixtures.ts";
import { onePatchSeries } from "../helpers/one-patch-series.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { CLI, exitOf } from "../helpers/run-cli.ts";
import { waitFor } from "../helpers/wait-for.ts";

let redis: TestRedis;
let dir: string;
before(async () => {
  redis = await startTestRedis();
  dir = mkdtempSync(join(tmpdir(), "pb-web-start-"));
});
after(async () => {
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `patchbench start --no-runner` with this `web:` block; its JSON log lines as they come. */
function start(name: string, web: string[]): { child: ChildProcess; log: () => string } {
  const configDir = join(dir, name, "config");
  mkdirSync(join(configDir, "trees"), { recursive: true });
  cpSync(join(PROJECT_ROOT, "config", "trees", "bpf-next.yaml"), join(configDir, "trees", "bpf-next.yaml"));
  writeFileSync(join(configDir, "patchbench.yaml"), [`dataDir: ${JSON.stringify(join(dir, name, "data"))}`, "web:", ...web.map((l) => `  ${l}`), "trees: [bpf-next]", ""].join("\n"));
  const child = spawn(process.execPath, [CLI, "--config", configDir, "start", "--no-runner"], {
    env: { ...process.env, REDIS_URL: redis.url, PATCHBENCH_LOG_LEVEL: "info", PATCHBENCH_LOG_FORMAT: "json" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout?.on("data", (d: Buffer) => {
    text += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    text += d.toString();
  });
  return { child, log: () => text };
}

test("patchbench start serves the dashboard on web.port, and stops it with the service", async () => {
  const s = start("on", ["port: 0"]);
  const exited = exitOf(s.child);
  try {
    const url = await waitFor("the dashboard", async () => /"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*"msg":"dashboard listening"/.exec(s.log())?.[1], 60_000);
    const r = await fetch(`${url}/api/series`);
    assert.equal(r.status, 200);
    assert.equal(seriesListViewSchema.parse(await r.json()).total, 0);
  } finally {
    s.child.kill("SIGTERM");
  }
  assert.equal((await exited).code, 0, s.log().slice(-2000));
});

test("a dashboard port already taken is logged; the service runs on and stops cleanly", async () => {
  const taken: Server = createServer();
  await new Promise<void>((r) => taken.listen(0, "127.0.0.1", () => r()));
  const port = (taken.address() as AddressInfo).port;
  const s = start("taken", [`port: ${port}`]);
  const exited = exitOf(s.child);
  try {
    await waitFor("the service running", async () => (/patchbench running/.test(s.log()) ? true : undefined), 60_000);
    const line = s.log().split("\n").find((l) => l.includes('"msg":"dashboard not started"')) ?? "";
    assert.match(line, /"level":50/);
    assert.match(line, /EADDRINUSE/);
  } finally {
    s.child.kill("SIGTERM");
    taken.close();
  }
  assert.equal((await exited).code, 0, s.log().slice(-2000));
});

test("web.enabled: false serves nothing", async () => {
  const s = start("off", ["enabled: false"]);
  const exited = exitOf(s.child);
  try {
    await waitFor("the service running", async () => (/patchbench running/.test(s.log()) ? true : undefined), 60_000);
    assert.doesNotMatch(s.log(), /dashboard/);
  } finally {
    s.child.kill("SIGTERM");
  }
  assert.equal((await exited).code, 0, s.log().slice(-2000));
});

test("a page that throws under patchbench start is logged and answered 500; the service's own work goes on (a report job after it is done)", async () => {
  const s = start("crash", ["port: 0"]);
  const exited = exitOf(s.child);
  const queue = new Queue(ORCHESTRATOR_QUEUE, { connection: { host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: null }, prefix: "patchbench" });
  try {
    const url = await waitFor("the dashboard", async () => /"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*"msg":"dashboard listening"/.exec(s.log())?.[1], 60_000);
    const db = await openStore(join(dir, "crash", "data", "patchbench.sqlite"));
    try {
      // Written past the repositories on purpose: what a damaged or hand-edited store may hold.
      await db.insertInto("series").values({ id: "series-broken", source: "mail", title: "x", version: 1, tree: null, data: "{not json", created_at: "2000-01-01T00:00:00.000Z" }).execute();
      await saveSeries(db, onePatchSeries({ id: "series-ok", title: "net: reported after the crash" }), new Map());
      await createFlowIfAbsent(db, { id: "flow-after", seriesId: "series-ok", tree: "bpf-next", base: null, plan: "{}" });
    } finally {
      await db.destroy();
    }
    const broken = await fetch(`${url}/series/series-broken`);
    assert.equal(broken.status, 500);
    assert.match(await broken.text(), /the page failed; the log has the reason/);
    const line = await waitFor("the logged failure", async () => s.log().split("\n").find((l) => l.includes('"msg":"dashboard page failed"')));
    assert.match(line, /"level":50/);
    // The orchestrator's worker in the same process still takes jobs: a report job queued after the crash ends its flow.
    await queue.add("report", { flowId: "flow-after", seriesId: "series-ok", tree: "bpf-next" }, { jobId: reportJobId("flow-after") });
    const run = await waitFor(
      "the report after the crash",
      async () => {
        const v = runViewSchema.parse(await (await fetch(`${url}/api/runs/flow-after`)).json());
        return v.flow.finishedAt !== null ? v : undefined;
      },
      60_000,
    );
    assert.notEqual(run.flow.status, "queued");
    assert.equal((await fetch(`${url}/api/series`)).status, 200, "the dashboard serves on too");
    assert.equal(s.child.exitCode, null, "the service still runs");
  } finally {
    await queue.close();
    s.child.kill("SIGTERM");
  }
  assert.equal((await exited).code, 0, s.log().slice(-2000));
});
