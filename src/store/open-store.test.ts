import assert from "node:assert/strict";
import { test } from "node:test";
import { STORE_BACKENDS } from "../../test/helpers/store-backends.ts";
import type { Series } from "../domain/series.ts";
import { onePatchSeries } from "../../test/helpers/one-patch-series.ts";
import { reserveDelivery, markDelivery, listDeliveries } from "./delivery-repository.ts";
import { countFlowsForSeries, createFlowIfAbsent } from "./flow-repository.ts";
import { openStore } from "./open-store.ts";
import { listSamples, saveFlowResults } from "./result-repository.ts";
import { getRawMails, getSeries, saveSeries } from "./series-repository.ts";

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
