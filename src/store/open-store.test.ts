import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { sql } from "kysely";
import { errorCode } from "../lib/errors.ts";
import { STORE_BACKENDS } from "../../test/helpers/store-backends.ts";
import type { Series } from "../domain/series.ts";
import { onePatchSeries } from "../../test/helpers/one-patch-series.ts";
import { reserveDelivery, markDelivery, listDeliveries } from "./delivery-repository.ts";
import { countFlowsForSeries, createFlowIfAbsent } from "./flow-repository.ts";
import { openStore } from "./open-store.ts";
import { listSamples, saveFlowResults } from "./result-repository.ts";
import { getRawMails, getRawMailsById, getSeries, saveIncomingMail, saveSeries } from "./series-repository.ts";

const execFileP = promisify(execFile);

const series: Series = onePatchSeries({
  id: "series-abc",
  title: "tcp: a change",
  version: 2,
  patches: [{ index: 1, messageId: "p1@x", subject: "[PATCH v2] tcp: a change", author: "A <a@x>" }],
});

for (const backend of STORE_BACKENDS) test(`store on ${backend.name}: migrations, series round trip, one flow per id, outbox, samples replace`, async () => {
  const store = await backend.fresh();
  try {
    const path = store.location;
    let db = await openStore(path);
    await saveSeries(db, series, new Map([["p1@x", Buffer.from("raw bytes\r\n")]]));
    await db.destroy();
    db = await openStore(path); // migrations are idempotent on reopen
    assert.deepEqual(await getSeries(db, "series-abc"), series);
    assert.equal(Buffer.from((await getRawMails(db, "series-abc")).get("p1@x")!).toString(), "raw bytes\r\n");

    const flow = { id: "flow-1", seriesId: series.id, tree: "bpf-next", base: null, plan: "{}" };
    assert.equal(await createFlowIfAbsent(db, flow), true);
    assert.equal(await createFlowIfAbsent(db, flow), false);
    assert.equal(await countFlowsForSeries(db, series.id), 1);

    const d1 = await reserveDelivery(db, { id: "d1", flowId: "flow-1", channel: "mail", messageId: "m@x", target: "t" });
    assert.equal(d1.status, "pending");
    await markDelivery(db, "d1", { ok: true });
    const d2 = await reserveDelivery(db, { id: "d1", flowId: "flow-1", channel: "mail", messageId: "m@x", target: "t" });
    assert.equal(d2.status, "sent");
    assert.equal((await listDeliveries(db, "flow-1")).length, 1);

    const sample = {
      cell: { test: "TCP_RR" as const, size: 1, topology: "loopback" as const },
      variant: "A",
      round: 0,
      run: 0,
      slot: 0,
      startedAt: "t0",
      endedAt: "t1",
      values: { THROUGHPUT: "123.4" },
      throughput: 123.4,
      ok: true,
    };
    await saveFlowResults(db, "flow-1", { results: [], samples: [sample, sample], verdicts: [] });
    await saveFlowResults(db, "flow-1", { results: [], samples: [{ ...sample, superseded: "A: slow mode" }, sample], verdicts: [] });
    const rows = await listSamples(db, "flow-1");
    assert.equal(rows.length, 2);
    assert.equal(rows[0]?.throughput, 123.4);
    // A set-aside run keeps its reason, so a report rebuilt from the store leaves it out as the first did.
    assert.deepEqual(rows.map((r) => r.superseded), ["A: slow mode", null]);
    await db.destroy();
  } finally {
    await store.drop();
  }
});

for (const backend of STORE_BACKENDS) test(`${backend.name}: mail kept on arrival joins its series when the series is saved; first bytes win, a claimed mail stays put`, async () => {
  const store = await backend.fresh();
  try {
    const db = await openStore(store.location);
    assert.equal(await saveIncomingMail(db, "p1@x", Buffer.from("as polled\r\n")), true);
    assert.equal((await getRawMails(db, "series-abc")).size, 0);
    await saveSeries(db, series, new Map([["p1@x", Buffer.from("re-read\r\n")]]));
    assert.equal(Buffer.from((await getRawMails(db, "series-abc")).get("p1@x")!).toString(), "as polled\r\n");
    await saveSeries(db, { ...series, id: "series-other" }, new Map([["p1@x", Buffer.from("other\r\n")]]));
    assert.equal((await getRawMails(db, "series-other")).size, 0);
    assert.equal((await getRawMails(db, "series-abc")).size, 1);
    // By Message-ID, whichever series claimed it (a re-roll carrying it reads it so).
    assert.equal(Buffer.from((await getRawMailsById(db, ["p1@x", "nope@x"])).get("p1@x")!).toString(), "as polled\r\n");
    await db.destroy();
  } finally {
    await store.drop();
  }
});

test("processes opening one new SQLite store at once all find it migrated (the service and a CLI command)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pb-open-race-"));
  try {
    const opener = `import("${join(import.meta.dirname, "open-store.ts")}").then(async (m) => { await (await m.openStore(process.argv[1])).destroy(); })`;
    // Several rounds on fresh files: without a lock, one in a few raced to "table already exists".
    for (let round = 0; round < 4; round++) {
      const path = join(dir, `store-${round}.sqlite`);
      const results = await Promise.all(
        Array.from({ length: 4 }, () => execFileP(process.execPath, ["--import", "tsx", "-e", opener, path]).then(
          () => "ok",
          (e: { stderr?: string }) => e.stderr ?? String(e),
        )),
      );
      assert.deepEqual(results, ["ok", "ok", "ok", "ok"], `round ${round}`);
      const db = await openStore(path);
      assert.equal((await db.selectFrom("flows").select("id").execute()).length, 0);
      await db.destroy();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const backend of STORE_BACKENDS) test(`a ${backend.name} store migrated by a newer patchbench is refused, not guessed at`, async () => {
  const store = await backend.fresh();
  try {
    const db = await openStore(store.location);
    // What a newer version leaves behind: a migration this one does not know.
    await sql`insert into kysely_migration (name, timestamp) values (${"9999-from-the-future"}, ${new Date().toISOString()})`.execute(db);
    await db.destroy();
    await assert.rejects(openStore(store.location), (e: Error) => {
      assert.match(e.message, /has schema 9999-from-the-future, newer than this patchbench knows \(up to \d{4}-[\w-]+\): a newer patchbench has used it/);
      assert.equal(errorCode(e), "infra");
      return true;
    });
  } finally {
    await store.drop();
  }
});
