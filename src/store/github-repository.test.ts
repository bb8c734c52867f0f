import assert from "node:assert/strict";
import { test } from "node:test";
import SQLite from "better-sqlite3";
import { Kysely, type MigrationProvider, Migrator, SqliteDialect } from "kysely";
import { STORE_BACKENDS } from "../../test/helpers/store-backends.ts";
import { getPullState, getTarget, type GithubTarget, setPullState, setTarget } from "./github-repository.ts";
import { MIGRATIONS } from "./migrations.ts";
import { openStore } from "./open-store.ts";
import type { Database } from "./schema.ts";

const target: GithubTarget = {
  installationId: 61_234_567,
  owner: "octo",
  repo: "linux",
  number: 7,
  headSha: "a".repeat(40),
  kind: "bench",
  checkRunId: 30_123_456_789,
  commentId: 2_987_654_321,
  request: "/bench tests=TCP_RR",
  changedFiles: ["net/ipv4/tcp.c"],
  state: "queued",
};

for (const backend of STORE_BACKENDS) {
  test(`github repository on ${backend.name}: targets and pull states round trip (ids past 2^31), upsert, unknown rows`, async () => {
    const store = await backend.fresh();
    const db = await openStore(store.location);
    try {
      assert.equal(await getTarget(db, "flow-x"), undefined);
      await setTarget(db, "flow-x", target);
      assert.deepEqual(await getTarget(db, "flow-x"), target);
      await setTarget(db, "flow-x", { ...target, state: "completed", commentId: null });
      assert.deepEqual(await getTarget(db, "flow-x"), { ...target, state: "completed", commentId: null });
      assert.deepEqual(await getPullState(db, "octo/linux#7"), { flows: [], pendingBench: null });
      await setPullState(db, "octo/linux#7", { flows: ["flow-a", "flow-x"], pendingBench: "flow-x" });
      assert.deepEqual(await getPullState(db, "octo/linux#7"), { flows: ["flow-a", "flow-x"], pendingBench: "flow-x" });
      await assert.rejects(setTarget(db, "flow-y", { ...target, kind: "comment" as "bench" }), /kind/);
    } finally {
      await db.destroy();
      await store.drop();
    }
  });
}

test("migration 0004: GitHub targets and pull states kept as JSON in cursors move into their typed tables", async () => {
  const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: new SQLite(":memory:") }) });
  try {
    const migrator = new Migrator({ db, provider });
    assert.equal((await migrator.migrateTo("0003-superseded-samples")).error, undefined);
    const at = "2026-12-01T00:00:00.000Z";
    await db
      .insertInto("cursors")
      .values([
        { source: "github-flow", key: "flow-old", value: JSON.stringify(target), updated_at: at },
        { source: "github-pr", key: "octo/linux#7", value: JSON.stringify({ flows: ["flow-old"], pendingBench: null }), updated_at: at },
        { source: "installation", key: "id", value: "abc", updated_at: at },
      ])
      .execute();
    assert.equal((await migrator.migrateToLatest()).error, undefined);
    assert.deepEqual(await getTarget(db, "flow-old"), target);
    assert.deepEqual(await getPullState(db, "octo/linux#7"), { flows: ["flow-old"], pendingBench: null });
    assert.deepEqual(
      (await db.selectFrom("cursors").select("source").execute()).map((r) => r.source),
      ["installation"],
      "only what is a cursor stays in cursors",
    );
  } finally {
    await db.destroy();
  }
});
