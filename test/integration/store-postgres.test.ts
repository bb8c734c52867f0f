import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createScratchSeries, type ScratchSeries } from "../../src/demo/scratch-series.ts";
import { openStore } from "../../src/store/open-store.ts";
import { listQuarantine } from "../../src/store/quarantine-repository.ts";
import { scratchPostgres, type ScratchPostgres } from "../helpers/postgres.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { runCli } from "../helpers/run-cli.ts";

/**
 * An installation moves from the embedded SQLite store to PostgreSQL: the
 * CLI reviews on SQLite, `store copy` moves every row, and the same review
 * on `PATCHBENCH_STORE_URL` finds its earlier flow there.
 */
describe("PostgreSQL store through the CLI (review, store copy, store migrate, quarantine list)", () => {
  let dir: string;
  let redis: TestRedis;
  let pg: ScratchPostgres;
  let s: ScratchSeries;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pb-pgcli-"));
    redis = await startTestRedis();
    pg = await scratchPostgres();
    s = await createScratchSeries(join(dir, "scratch"));
  });
  after(async () => {
    await redis.stop();
    await pg.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a review on SQLite, copied into PostgreSQL, is the same flow there; a bad URL is one clear error", async () => {
    const data = join(dir, "data");
    const review = (env: NodeJS.ProcessEnv = {}) =>
      runCli(["--data-dir", data, "--redis-url", redis.url, "review", s.mboxPath, "--tree-path", s.treeDir, "--stages", "apply"], env);
    const first = await review();
    assert.equal(first.code, 0, first.stderr);
    const flowId = /flow queued: (\S+)/.exec(first.stderr)![1]!;

    const copy = await runCli(["store", "copy", "--from", join(data, "patchbench.sqlite"), "--to", pg.url]);
    assert.equal(copy.code, 0, copy.stderr);
    assert.match(copy.stdout, /^flows +1 row\(s\) copied$/m);
    assert.match(copy.stdout, /^runs +1 row\(s\) copied$/m);

    const onPg = await review({ PATCHBENCH_STORE_URL: pg.url });
    assert.equal(onPg.code, 0, onPg.stderr);
    assert.match(onPg.stderr, new RegExp(`flow already exists \\(reviewed before; --rerun runs it again\\): ${flowId}`));
    assert.match(onPg.stdout, /^Apply: {2}PASS - applied 2\/2 patches/m);

    const migrate = await runCli(["--data-dir", data, "store", "migrate"], { PATCHBENCH_STORE_URL: pg.url });
    assert.equal(migrate.code, 0, migrate.stderr);
    assert.match(migrate.stdout, /^store postgres:\/\/postgres@127\.0\.0\.1:\d+\/pb_test_[0-9a-f]+: schema up to date$/m);

    const db = await openStore(pg.url);
    try {
      assert.equal((await db.selectFrom("flows").select("id").execute()).length, 1, "the PostgreSQL review reused the copied flow");
      assert.deepEqual(await listQuarantine(db), []);
    } finally {
      await db.destroy();
    }

    const bad = await runCli(["--data-dir", data, "store", "migrate"], { PATCHBENCH_STORE_URL: "postgres://nobody:secret@127.0.0.1:1/none" });
    assert.equal(bad.code, 69, "EX_UNAVAILABLE");
    assert.match(bad.stderr, /cannot reach the store at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none/);
    assert.doesNotMatch(bad.stderr, /secret/, "the password is never printed");
  });
});
