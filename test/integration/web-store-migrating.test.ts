import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import SQLite from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { MIGRATIONS } from "../../src/store/migrations.ts";
import { openStore } from "../../src/store/open-store.ts";
import { seriesListViewSchema } from "../../src/web/web-view-schemas.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { startWebCli } from "../helpers/web-store.ts";

let redis: TestRedis;
let dir: string;
before(async () => {
  redis = await startTestRedis();
  dir = mkdtempSync(join(tmpdir(), "pb-web-migrating-"));
});
after(async () => {
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("patchbench web while another process migrates the SQLite store: 503 with Retry-After on pages and API, 200 once it is done", async () => {
  const dataDir = join(dir, "data");
  const path = join(dataDir, "patchbench.sqlite");
  await (await openStore(path)).destroy();
  // What a migrating patchbench holds (open-store.ts): the write lock, from before it reads the
  // migration state to its commit. Here it takes the newest migration back, so the web's own
  // open has a real migration to run once the lock is released.
  const migrating = new SQLite(path);
  migrating.exec("BEGIN IMMEDIATE");
  // Whichever migration is the newest, taken back by its own down() on this connection, inside the lock.
  const newest = Object.keys(MIGRATIONS).sort().at(-1)!;
  await MIGRATIONS[newest]!.down!(new Kysely<unknown>({ dialect: new SqliteDialect({ database: migrating }) }));
  migrating.prepare("DELETE FROM kysely_migration WHERE name = ?").run(newest);
  const web = await startWebCli(dataDir, redis.url);
  try {
    const get = (p: string) => fetch(new URL(p, web.url), { redirect: "manual" });
    for (const p of ["/series", "/queue", "/runs/flow-x", "/api/series", "/api/queue", "/nowhere"]) {
      const r = await get(p);
      assert.equal(r.status, 503, p);
      assert.equal(r.headers.get("retry-after"), "5", p);
      const body = await r.text();
      assert.match(body, /being opened and brought up to date \(schema migration\)/, p);
      if (p.startsWith("/api/")) assert.match(r.headers.get("content-type") ?? "", /application\/json/, p);
    }
    migrating.exec("COMMIT");
    const list = await waitFor("the store open", async () => {
      const r = await get("/api/series");
      return r.status === 200 ? seriesListViewSchema.parse(await r.json()) : undefined;
    }, 30_000);
    assert.equal(list.total, 0);
    assert.equal((await get("/series")).status, 200);
    assert.equal((await get("/nowhere")).status, 404);
  } finally {
    if (migrating.inTransaction) migrating.exec("ROLLBACK");
    migrating.close();
    assert.equal(await web.stop(), 0);
  }
  // The web's open ran the migration the lock holder had taken back.
  const check = new SQLite(path, { readonly: true });
  try {
    assert.deepEqual(check.prepare("SELECT name FROM kysely_migration WHERE name = ?").all(newest), [{ name: newest }]);
  } finally {
    check.close();
  }
});
