import assert from "node:assert/strict";
import { test } from "node:test";
import { onePatchSeries } from "../../test/helpers/one-patch-series.ts";
import { STORE_BACKENDS } from "../../test/helpers/store-backends.ts";
import { openStore } from "./open-store.ts";
import { findPatchworkState, listPatchworkMails, listSeriesWithMail, rememberPatchworkMails } from "./patchwork-repository.ts";
import { saveSeries } from "./series-repository.ts";
import { ownMessageIds } from "../domain/series.ts";
import type { Kysely } from "kysely";
import { MIGRATIONS } from "./migrations.ts";

for (const backend of STORE_BACKENDS) test(`${backend.name}: patchwork facts merge by Message-ID per instance and project; a series is found by its own mails only`, async () => {
  const store = await backend.fresh();
  try {
    const db = await openStore(store.location);
    const scope = { instance: "https://patchwork.example.org/", project: "netdevbpf" };
    await rememberPatchworkMails(db, scope, [{ messageId: "p1@x", patchId: 11 }, { messageId: "c0@x", seriesId: 5 }]);
    await rememberPatchworkMails(db, scope, [{ messageId: "p1@x", seriesId: 5 }]);
    await rememberPatchworkMails(db, { ...scope, project: "other" }, [{ messageId: "p1@x", patchId: 99, state: "accepted" }]);
    assert.deepEqual(
      await listPatchworkMails(db, { instance: "https://patchwork.example.org", project: "netdevbpf" }, ["p1@x", "c0@x", "none@x"]).then((r) => r.sort((a, b) => a.messageId.localeCompare(b.messageId))),
      [
        { messageId: "c0@x", patchId: null, seriesId: 5, state: null },
        { messageId: "p1@x", patchId: 11, seriesId: 5, state: null },
      ],
    );
    await rememberPatchworkMails(db, scope, [{ messageId: "p1@x", state: "superseded" }]);
    assert.equal((await listPatchworkMails(db, scope, ["p1@x"]))[0]?.patchId, 11, "a state keeps the ids");
    const closing = [{ ...scope, states: ["superseded", "rejected"] }];
    assert.deepEqual(await findPatchworkState(db, ["p1@x"], closing), { messageId: "p1@x", state: "superseded" });
    assert.equal(await findPatchworkState(db, ["c0@x"], closing), null);
    // Each project closes by its own states: "accepted" in "other" closes only where it is listed.
    assert.equal(await findPatchworkState(db, ["p1@x"], [{ ...scope, project: "other", states: ["superseded"] }]), null);
    assert.deepEqual(await findPatchworkState(db, ["p1@x"], [{ ...scope, states: [] }, { ...scope, project: "other", states: ["accepted"] }]), { messageId: "p1@x", state: "accepted" });
    assert.equal(await findPatchworkState(db, ["p1@x"], [{ ...scope, states: [] }]), null, "[] closes nothing");

    const v1 = onePatchSeries({ id: "series-v1", title: "a", patches: [{ index: 1, messageId: "p1@x", subject: "[PATCH] a", author: "A <a@x>" }] });
    const v2 = onePatchSeries({ id: "series-v2", title: "a", version: 2, patches: [{ index: 1, messageId: "p1_v2%@x", subject: "[PATCH v2] a", author: "A <a@x>" }] });
    await saveSeries(db, v1, new Map());
    await saveSeries(db, { ...v2, previousVersion: "p1@x" }, new Map());
    assert.deepEqual(await listSeriesWithMail(db, "p1@x"), ["series-v1"]);
    assert.deepEqual(await listSeriesWithMail(db, "p1_v2%@x"), ["series-v2"]);
    assert.deepEqual(await listSeriesWithMail(db, "p1_v2@x"), [], "LIKE wildcards in a Message-ID are literal");
    // A partial re-roll that carries v1's patch: patchwork superseding v1's mail does not close it.
    const reroll = onePatchSeries({
      id: "series-v3",
      title: "a",
      version: 3,
      total: 2,
      patches: [
        { index: 1, messageId: "p1@x", subject: "[PATCH] a", author: "A <a@x>", carriedFrom: 1 },
        { index: 2, messageId: "p2_v3@x", subject: "[PATCH v3 2/2] a", author: "A <a@x>" },
      ],
    });
    await saveSeries(db, reroll, new Map());
    assert.deepEqual(await listSeriesWithMail(db, "p1@x"), ["series-v1"]);
    assert.deepEqual(await listSeriesWithMail(db, "p2_v3@x"), ["series-v3"]);
    assert.deepEqual(ownMessageIds(reroll), ["p2_v3@x"]);

    // The look-up is by the series_mails index, not the series' JSON (a LIKE scan over every series).
    await db.updateTable("series").set({ data: "{}" }).where("id", "=", "series-v1").execute();
    assert.deepEqual(await listSeriesWithMail(db, "p1@x"), ["series-v1"]);
    // Saved again without the mail (a re-assembly): no longer found by it.
    await saveSeries(db, { ...v1, patches: [{ index: 1, messageId: "p1b@x", subject: "[PATCH] a", author: "A <a@x>" }] }, new Map());
    assert.deepEqual(await listSeriesWithMail(db, "p1@x"), []);
    assert.deepEqual(await listSeriesWithMail(db, "p1b@x"), ["series-v1"]);
    // A store from before the table: the migration fills it from each stored series' own mails.
    const migration = MIGRATIONS["0010-series-own-mails"]!;
    await migration.down!(db as unknown as Kysely<unknown>);
    await migration.up(db as unknown as Kysely<unknown>);
    assert.deepEqual(await listSeriesWithMail(db, "p1b@x"), ["series-v1"]);
    assert.deepEqual(await listSeriesWithMail(db, "p1_v2%@x"), ["series-v2"]);
    assert.deepEqual(await listSeriesWithMail(db, "p2_v3@x"), ["series-v3"]);
    assert.deepEqual(await listSeriesWithMail(db, "p1@x"), [], "carried by v3, not its own");
    await db.destroy();
  } finally {
    await store.drop();
  }
});
