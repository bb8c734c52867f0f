import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { onePatchSeries } from "../../test/helpers/one-patch-series.ts";
import { STORE_BACKENDS } from "../../test/helpers/store-backends.ts";
import { createFlowIfAbsent, setFlowStatus } from "./flow-repository.ts";
import { listSeriesPage } from "./list-series-page.ts";
import { listSeriesVersions } from "./list-series-versions.ts";
import type { Kysely } from "kysely";
import { MIGRATIONS } from "./migrations.ts";
import { openStore } from "./open-store.ts";
import { saveFlowResults } from "./result-repository.ts";
import { saveSeries } from "./series-repository.ts";
import { tipSeries } from "../domain/tree-tip.ts";

for (const backend of STORE_BACKENDS) {
  test(`listSeriesPage and listSeriesVersions on ${backend.name}: newest first, filters, literal case-blind search, pages, version chains`, async () => {
    const store = await backend.fresh();
    const db = await openStore(store.location);
    try {
      const series = [
        onePatchSeries({ id: "s1", title: "tcp: 100% faster_path", tree: "net-next" }),
        onePatchSeries({ id: "s2", title: "bpf: verifier fix", author: "Zoë Q <zq@example.org>" }),
        onePatchSeries({ id: "s3", title: "bpf: verifier fix", version: 2, previousVersion: "s2", patches: [{ index: 1, messageId: "v2.1@example.org", subject: "x", author: "Z" }] }),
        onePatchSeries({ id: "s4", title: "bpf: verifier fix", version: 3, previousVersion: "s3" }),
      ];
      for (const s of series) {
        await saveSeries(db, s, new Map());
        // created_at has millisecond resolution: keep the order unambiguous.
        await sleep(5);
      }
      await createFlowIfAbsent(db, { id: "f2", seriesId: "s2", tree: "bpf-next", base: null, plan: "{}" });
      await setFlowStatus(db, "f2", "fail", true);
      await createFlowIfAbsent(db, { id: "f3", seriesId: "s3", tree: "bpf-next", base: null, plan: "{}" });
      await setFlowStatus(db, "f3", "pass", true);
      await createFlowIfAbsent(db, { id: "f4", seriesId: "s4", tree: "bpf-next", base: null, plan: "{}" });

      const ids = async (filter: Parameters<typeof listSeriesPage>[1], page = { offset: 0, limit: 10 }) => {
        const r = await listSeriesPage(db, filter, page);
        return { total: r.total, ids: r.rows.map((x) => x.id) };
      };
      assert.deepEqual(await ids({}), { total: 4, ids: ["s4", "s3", "s2", "s1"] });
      assert.deepEqual(await ids({}, { offset: 1, limit: 2 }), { total: 4, ids: ["s3", "s2"] });
      assert.deepEqual(await ids({ tree: "net-next" }), { total: 1, ids: ["s1"] });
      assert.deepEqual(await ids({ verdict: "fail" }), { total: 1, ids: ["s2"] });
      assert.deepEqual(await ids({ state: "queued" }), { total: 1, ids: ["s4"] });
      assert.deepEqual(await ids({ state: "finished" }), { total: 2, ids: ["s3", "s2"] });
      assert.deepEqual(await ids({ search: "VERIFIER" }), { total: 3, ids: ["s4", "s3", "s2"] });
      assert.deepEqual(await ids({ search: "zq@example" }), { total: 1, ids: ["s2"] });
      assert.deepEqual(await ids({ search: "v2.1@example.org" }), { total: 1, ids: ["s3"] });
      assert.deepEqual(await ids({ search: "100%" }), { total: 1, ids: ["s1"] });
      assert.deepEqual(await ids({ search: "0%" }), { total: 1, ids: ["s1"] });
      assert.deepEqual(await ids({ search: "%" }), { total: 1, ids: ["s1"] }, "% is a character, not a wildcard");
      assert.deepEqual(await ids({ search: "fast_r" }), { total: 0, ids: [] }, "_ is a character, not a wildcard");
      // Only subjects, the author and Message-IDs: not the stored JSON's keys nor the commit text it carries.
      await saveSeries(db, onePatchSeries({ id: "s5", title: "net: quiet", text: "Signed-off-by: Hidden Person <hp@example.org>" }), new Map());
      assert.deepEqual(await ids({ search: "previousVersion" }), { total: 0, ids: [] }, "a JSON key is not searched");
      assert.deepEqual(await ids({ search: "\"tree\":" }), { total: 0, ids: [] }, "JSON syntax is not searched");
      assert.deepEqual(await ids({ search: "hidden person" }), { total: 0, ids: [] }, "commit text is not searched");
      assert.deepEqual(await ids({ search: "zoë q" }), { total: 1, ids: ["s2"] }, "non-ASCII case-blind");
      assert.deepEqual(await ids({ search: "[patch] net: quiet" }), { total: 1, ids: ["s5"] }, "a patch's subject");
      assert.deepEqual(await ids({ author: "ZQ@example.org" }), { total: 1, ids: ["s2"] });
      assert.deepEqual(await ids({ author: "zq@example" }), { total: 0, ids: [] }, "the address whole");
      // The mailing lists a series' mails came through; saved again, it keeps only its lists of now.
      await saveSeries(db, { ...series[0]!, lists: ["netdev.vger.kernel.org", "bpf.vger.kernel.org"] }, new Map());
      await saveSeries(db, { ...series[2]!, lists: ["bpf.vger.kernel.org"] }, new Map());
      assert.deepEqual(await ids({ list: "bpf.vger.kernel.org" }), { total: 2, ids: ["s3", "s1"] });
      assert.deepEqual(await ids({ list: "NETDEV.vger.kernel.org" }), { total: 1, ids: ["s1"] });
      assert.deepEqual(await ids({ list: "bpf.vger.kernel.org", search: "verifier" }), { total: 1, ids: ["s3"] });
      await saveSeries(db, { ...series[2]!, lists: ["netdev.vger.kernel.org"] }, new Map());
      assert.deepEqual(await ids({ list: "bpf.vger.kernel.org" }), { total: 1, ids: ["s1"] });
      assert.deepEqual(await ids({ list: "vger.kernel.org" }), { total: 0, ids: [] }, "a list's id whole");
      // A tree tip's stand-in series is the tree's history, not a posted series.
      await saveSeries(db, tipSeries({ tree: "net-next", base: "a".repeat(40), head: "b".repeat(40), subject: "net: verifier fix merged", seenAt: "2026-12-07T00:00:00Z" }), new Map());
      assert.deepEqual(await ids({ tree: "net-next" }), { total: 1, ids: ["s1"] }, "tree tips are not listed");
      await saveFlowResults(db, "f3", {
        results: [],
        samples: [],
        verdicts: [
          { cell: "a", verdict: "regression", data: {} },
          { cell: "b", verdict: "regression", data: {} },
          { cell: "c", verdict: "no change", data: {} },
        ],
      });
      await saveFlowResults(db, "f2", { results: [], samples: [], verdicts: [{ cell: "a", verdict: "no change", data: {} }] });
      assert.deepEqual(await ids({ hasRegression: true }), { total: 1, ids: ["s3"] });
      assert.deepEqual(await ids({ hasRegression: false, search: "verifier" }), { total: 2, ids: ["s4", "s2"] });
      const counted = await listSeriesPage(db, { search: "verifier" }, { offset: 0, limit: 10 });
      assert.deepEqual(counted.rows.map((r) => r.verdicts), [{}, { regression: 2, "no change": 1 }, { "no change": 1 }]);
      await db.deleteFrom("series").where("id", "=", "s5").execute();

      const withFlows = await listSeriesPage(db, { search: "verifier" }, { offset: 0, limit: 10 });
      assert.deepEqual(withFlows.rows.map((r) => r.flows.map((f) => [f.id, f.status])), [[["f4", "queued"]], [["f3", "pass"]], [["f2", "fail"]]]);

      // A store from before the columns: the migration fills them from each stored series.
      const migration = MIGRATIONS["0007-series-list-columns"]!;
      await migration.down!(db as unknown as Kysely<unknown>);
      await migration.up(db as unknown as Kysely<unknown>);
      assert.deepEqual(await ids({ search: "zq@example" }), { total: 1, ids: ["s2"] });
      assert.deepEqual(await ids({ author: "zq@example.org" }), { total: 1, ids: ["s2"] });
      assert.deepEqual(await ids({ search: "previousVersion" }), { total: 0, ids: [] });
      // And from before the previous_version column: the chains below are followed through it.
      const chains = MIGRATIONS["0009-version-and-run-lookups"]!;
      await chains.down!(db as unknown as Kysely<unknown>);
      await chains.up(db as unknown as Kysely<unknown>);

      for (const id of ["s2", "s3", "s4"]) assert.deepEqual((await listSeriesVersions(db, id)).map((s) => s.id), ["s2", "s3", "s4"], id);
      assert.deepEqual((await listSeriesVersions(db, "s1")).map((s) => s.id), ["s1"]);
      assert.deepEqual(await listSeriesVersions(db, "nope"), []);
    } finally {
      await db.destroy();
      await store.drop();
    }
  });
}

const mail = (id: string, listId: string | null) =>
  new TextEncoder().encode(`Message-ID: <${id}>\r\nSubject: [PATCH] x\r\n${listId === null ? "" : `List-Id: ${listId}\r\n`}\r\nbody\r\n`);

for (const backend of STORE_BACKENDS) {
  test(`the series list's list filter on ${backend.name}, for series stored before it: migrated from the List-Ids of each series' own stored mails`, async () => {
    const store = await backend.fresh();
    const db = await openStore(store.location);
    try {
      // Stored as before the filter: no lists in the series, its raw mails as they came.
      const cover = { messageId: "c1@x", subject: "[PATCH 0/2] bpf: two", author: "A <a@x>" };
      const two = (i: number) => ({ index: i, messageId: `p${i}@x`, subject: `[PATCH ${i}/2] bpf: two`, author: "A <a@x>" });
      await saveSeries(
        db,
        onePatchSeries({ id: "s1", title: "bpf: two", total: 2, cover, patches: [two(1), two(2)] }),
        new Map([
          ["c1@x", mail("c1@x", "<bpf.vger.kernel.org>")],
          ["p1@x", mail("p1@x", "BPF list <BPF.vger.kernel.org>")],
          ["p2@x", mail("p2@x", "<netdev.vger.kernel.org>")],
        ]),
      );
      // A re-roll that mailed one patch anew and carries the other: only its own mail names its lists.
      await saveSeries(
        db,
        onePatchSeries({ id: "s2", title: "bpf: two", version: 2, total: 2, previousVersion: "s1", patches: [{ ...two(1), carriedFrom: 1 }, { ...two(2), messageId: "v2p2@x" }] }),
        new Map([["v2p2@x", mail("v2p2@x", "<linux-kselftest.vger.kernel.org>")]]),
      );
      await saveSeries(db, onePatchSeries({ id: "s3", title: "net: no list", patches: [{ ...two(1), messageId: "q1@x" }] }), new Map([["q1@x", mail("q1@x", null)]]));
      const ids = async (list: string) => (await listSeriesPage(db, { list }, { offset: 0, limit: 10 })).rows.map((r) => r.id).sort();
      assert.deepEqual(await ids("bpf.vger.kernel.org"), [], "saved without lists: none yet");

      const lists = MIGRATIONS["0012-series-lists"]!;
      await lists.down!(db as unknown as Kysely<unknown>);
      await lists.up(db as unknown as Kysely<unknown>);
      assert.deepEqual(await ids("bpf.vger.kernel.org"), ["s1"]);
      assert.deepEqual(await ids("netdev.vger.kernel.org"), ["s1"]);
      assert.deepEqual(await ids("linux-kselftest.vger.kernel.org"), ["s2"]);
      assert.deepEqual(
        (await db.selectFrom("series_lists").select(["series_id", "list_id"]).orderBy("series_id").orderBy("list_id").execute()).map((r) => `${r.series_id} ${r.list_id}`),
        ["s1 bpf.vger.kernel.org", "s1 netdev.vger.kernel.org", "s2 linux-kselftest.vger.kernel.org"],
        "once per series and list; a series without a List-Id in none",
      );
    } finally {
      await db.destroy();
      await store.drop();
    }
  });
}
