import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { createScratchSeries } from "../../src/demo/scratch-series.ts";
import { writeDemoConfig } from "../../src/demo/write-demo-config.ts";
import { splitMbox } from "../../src/ingest/mail/split-mbox.ts";
import { listDeliveries } from "../../src/store/delivery-repository.ts";
import { type Db, openStore } from "../../src/store/open-store.ts";
import { CLI } from "../helpers/run-cli.ts";
import { serviceFixture } from "../helpers/service-fixture.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * Two `patchbench start` processes — two orchestrators, each with its own
 * data dir and runner — against one Redis and one PostgreSQL store, both
 * configured with the same mail source. One polls it; killed with -9, the
 * other takes the source over within one poll interval; every series gets
 * exactly one flow and one report.
 */
const POLL_SEC = 10;

const fx = serviceFixture("pb-orch-");

interface Orchestrator {
  name: string;
  child: ChildProcess;
  log: string;
  dataDir: string;
  exited: Promise<number | null>;
}

function startOrchestrator(name: string, configDir: string): Orchestrator {
  const dataDir = join(fx.dir, `data-${name}`);
  const log = join(fx.dir, `${name}.log`);
  const fd = openSync(log, "a");
  const child = spawn(process.execPath, [CLI, "--redis-url", fx.redis.url, "start"], {
    env: { ...process.env, PATCHBENCH_CONFIG: configDir, PATCHBENCH_DATA_DIR: dataDir, PATCHBENCH_STORE_URL: fx.pg.url, PATCHBENCH_LOG_LEVEL: "debug" },
    stdio: ["ignore", fd, fd],
  });
  return { name, child, log, dataDir, exited: new Promise((r) => child.once("exit", (code) => r(code))) };
}

const logOf = (o: Orchestrator): string => readFileSync(o.log, "utf8");
const holds = (o: Orchestrator): boolean => logOf(o).includes("took the lease of a mail source");
/** The polls of the source this orchestrator made (one "poll" log line each, at debug level when nothing came). */
const polls = (o: Orchestrator): { newMails: number }[] =>
  logOf(o)
    .split("\n")
    .filter((l) => l.includes('"msg":"poll"'))
    .map((l) => JSON.parse(l) as { newMails: number });
const mailsTaken = (o: Orchestrator): number => polls(o).reduce((n, p) => n + p.newMails, 0);
const reportMails = (o: Orchestrator): string[] => {
  const outbox = join(o.dataDir, "outbox");
  return existsSync(outbox) ? readdirSync(outbox).filter((f) => f.endsWith(".eml")) : [];
};

/** Writes a series' mails into the maildir, as a delivery agent would. */
function deliver(maildir: string, mbox: Buffer, tag: string): void {
  for (const [i, m] of splitMbox(mbox).messages.entries()) writeFileSync(join(maildir, "new", `${tag}-${i}.mail`), m.raw);
}

test("two orchestrators share one source: one polls it, the other takes over within one poll interval after kill -9; one report per series", async (t) => {
  const s = await createScratchSeries(join(fx.dir, "s"));
  const maildir = join(fx.dir, "maildir");
  const configDir = writeDemoConfig({
    dir: fx.dir,
    treePath: s.treeDir,
    maildir,
    bench: { sizes: [1], topologies: ["loopback"], rounds: 2, maxRounds: 2, runsPerRound: 1, durationSec: 1 },
    pollSec: POLL_SEC,
    // Apply and checks only: what is under test is the orchestration, not the bench.
    stages: ["apply"],
  });
  const first = readFileSync(s.mboxPath);
  // A second, distinct series: the same patches under other Message-IDs and another cover title.
  const second = Buffer.from(
    first.toString("latin1").replaceAll("git.ada@example.org", "git.ada@second.example.org").replace("SO_BUSY_POLL from sockops programs", "SO_BUSY_POLL for sockops, take two"),
    "latin1",
  );

  const a = startOrchestrator("a", configDir);
  await waitFor("a to take the source", () => holds(a), 60_000);
  const b = startOrchestrator("b", configDir);
  let db: Db | null = null;
  try {
    await waitFor("b to see the source held by a", () => logOf(b).includes("mail source polled by another orchestrator"), 60_000);
    db = await openStore(fx.pg.url);
    const store = db;
    const flowsDone = (n: number) => async () => {
      const rows = await store.selectFrom("flows").selectAll().execute();
      return rows.length === n && rows.every((f) => f.finished_at !== null) ? rows : undefined;
    };

    deliver(maildir, first, "one");
    await waitFor("the first series' flow to finish", flowsDone(1), 120_000);
    assert.equal(holds(b), false, "b never held the source while a did");
    assert.equal(polls(b).length, 0, "b never polled the source while a held it");
    assert.ok(mailsTaken(a) >= 3, `a took in the first series (${mailsTaken(a)} mails)`);

    a.child.kill("SIGKILL");
    const killedAt = Date.now();
    await a.exited;
    deliver(maildir, second, "two");
    await waitFor("b to take the source over", () => holds(b), 30_000);
    const takeoverMs = Date.now() - killedAt;
    assert.ok(takeoverMs < POLL_SEC * 1000, `b took over ${takeoverMs} ms after the kill (poll interval ${POLL_SEC} s)`);
    t.diagnostic(`takeover ${takeoverMs} ms after kill -9`);
    const flows = await waitFor("both flows to finish", flowsDone(2), 180_000);

    // Exactly one report per flow, whichever orchestrator ran the report job.
    await waitFor("both reports", () => reportMails(a).length + reportMails(b).length >= 2 || undefined, 60_000);
    await new Promise((r) => setTimeout(r, 2 * POLL_SEC * 1000));
    for (const f of flows) assert.equal((await listDeliveries(store, f.id)).length, 1, `one delivery for ${f.id}`);
    assert.equal(reportMails(a).length + reportMails(b).length, 2, "two report mails in all");
    assert.deepEqual(readdirSync(join(maildir, "new")), [], "every mail taken in");
    assert.equal(new Set(flows.map((f) => f.series_id)).size, 2);
    assert.ok(mailsTaken(b) >= 3, `b took in the second series (${mailsTaken(b)} mails)`);
  } finally {
    await db?.destroy();
    a.child.kill("SIGKILL");
    b.child.kill("SIGTERM");
    const code = await b.exited;
    assert.equal(code, 0, logOf(b).slice(-2000));
  }
});
