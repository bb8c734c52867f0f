import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { createLogger } from "../../src/lib/logger.ts";
import { sourceFenceKey, sourceLeaseKey } from "../../src/queue/job-ids.ts";
import { holdLease, releaseLease } from "../../src/queue/source-lease.ts";
import { getCursor, getFence, setCursorFenced } from "../../src/store/cursor-repository.ts";
import { type Db, openStore } from "../../src/store/open-store.ts";
import { startSourceLeases } from "../../src/workers/source-leases.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { STORE_BACKENDS } from "../helpers/store-backends.ts";
import { waitFor } from "../helpers/wait-for.ts";

const log = createLogger({ level: "silent" });
const SOURCE = "public-inbox-git:https://lore.example.org#bpf";

let server: TestRedis;
let redis: Redis;
before(async () => {
  server = await startTestRedis();
  redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
});
after(async () => {
  redis?.disconnect();
  await server?.stop();
});

test("one holder at a time; a renewal keeps the token; a new holder gets a newer one, never below the store's", async () => {
  const keys = { lease: sourceLeaseKey("t1", SOURCE), fence: sourceFenceKey("t1", SOURCE) };
  assert.deepEqual(await holdLease(redis, keys, "a", 5000, 0), { held: true, fence: 1, acquired: true });
  assert.deepEqual(await holdLease(redis, keys, "b", 5000, 0), { held: false, holder: "a" });
  assert.deepEqual(await holdLease(redis, keys, "a", 5000, 0), { held: true, fence: 1, acquired: false });
  assert.equal(await releaseLease(redis, keys.lease, "b"), false, "only the holder releases");
  assert.equal(await releaseLease(redis, keys.lease, "a"), true);
  assert.deepEqual(await holdLease(redis, keys, "b", 5000, 0), { held: true, fence: 2, acquired: true });
  // Redis lost everything (FLUSHALL, a failover without the data): the counter restarts,
  // but the store's last token (7) is the floor.
  await redis.flushall();
  assert.deepEqual(await holdLease(redis, keys, "a", 5000, 7), { held: true, fence: 8, acquired: true });
  // A lease not renewed runs out.
  await redis.pexpire(keys.lease, 50);
  await new Promise((r) => setTimeout(r, 120));
  assert.deepEqual(await holdLease(redis, keys, "b", 5000, 0), { held: true, fence: 9, acquired: true });
});

for (const backend of STORE_BACKENDS) {
  describe(`fenced cursor writes on ${backend.name}`, () => {
    let db: Db;
    let drop: () => Promise<void>;
    before(async () => {
      const s = await backend.fresh();
      drop = s.drop;
      db = await openStore(s.location);
    });
    after(async () => {
      await db?.destroy();
      await drop?.();
    });

    test("a write with an older token than the last one changes nothing", async () => {
      assert.equal(await getFence(db, SOURCE), 0);
      assert.equal(await setCursorFenced(db, SOURCE, "epoch-0", "aaa", 5), true);
      assert.equal(await setCursorFenced(db, SOURCE, "epoch-0", "old", 4), false, "the previous holder, late");
      assert.equal(await getCursor(db, SOURCE, "epoch-0"), "aaa");
      assert.equal(await setCursorFenced(db, SOURCE, "epoch-0", "bbb", 5), true, "the holder again");
      // Tokens compare as numbers, not as text ("10" > "9").
      assert.equal(await setCursorFenced(db, SOURCE, "epoch-0", "ccc", 10), true);
      assert.equal(await setCursorFenced(db, SOURCE, "epoch-0", "late", 9), false);
      assert.equal(await getCursor(db, SOURCE, "epoch-0"), "ccc");
      assert.equal(await getFence(db, SOURCE), 10);
    });

    test("Redis loses the lease and its counter (FLUSHALL): the holder takes it again with a token the store still accepts", async () => {
      const prefix = `flush-${backend.name}`;
      const label = `${SOURCE}#flush`;
      const k = await startSourceLeases({ redis, prefix, db, log, sources: [{ label, intervalSec: 10 }], version: "0.1.0" });
      try {
        const before = k.fence(label);
        assert.ok(before !== null);
        assert.equal(await setCursorFenced(db, label, "epoch-0", "x", before), true);
        // Meanwhile another holder wrote with a newer token (this one's link was away):
        // the token taken after the flush must be above that too.
        assert.equal(await setCursorFenced(db, label, "epoch-0", "x2", before + 5), true);
        await redis.flushall();
        const after = await waitFor("a new token", () => {
          const f = k.fence(label);
          return f !== null && f !== before ? f : undefined;
        }, 5000);
        assert.ok(after > before + 5, `${after} > ${before + 5}`);
        assert.equal(await setCursorFenced(db, label, "epoch-0", "y", after), true, "the cursor still moves");
      } finally {
        await k.close();
      }
    });

    test("two orchestrators: one polls; the other takes over when it stops, dies, or meets a newer version", async () => {
      const sources = [{ label: SOURCE, intervalSec: 10 }];
      const keeper = (prefix: string, version: string, client: Redis = redis) =>
        startSourceLeases({ redis: client, prefix, db, log, sources, version });
      const prefix = `t-${backend.name}`;
      const a = await keeper(prefix, "0.1.0");
      const b = await keeper(prefix, "0.1.0");
      try {
        const fa = a.fence(SOURCE);
        assert.ok(fa !== null && fa > 10, `a holds the source with a token above the store's (${fa})`);
        assert.equal(b.fence(SOURCE), null);
        // A clean stop hands the source over at b's next round (every ttl/3 = 1.7 s).
        const taken: string[] = [];
        b.onAcquired((l) => taken.push(l));
        const t0 = Date.now();
        await a.close();
        await waitFor("b to take the source", () => b.fence(SOURCE) !== null, 5000);
        assert.ok(Date.now() - t0 < 2500, `handed over in ${Date.now() - t0} ms`);
        assert.deepEqual(taken, [SOURCE]);
        assert.ok((b.fence(SOURCE) ?? 0) > (fa ?? 0));

        // A holder that dies (its Redis connection gone, no release): its lease runs out
        // (ttl 5 s) and it stops polling on its own clock; the other takes over.
        const dyingClient = new Redis(server.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
        await new Promise((r) => dyingClient.once("ready", r));
        await b.close();
        const c = await keeper(prefix, "0.1.0", dyingClient);
        const d = await keeper(prefix, "0.1.0");
        try {
          assert.notEqual(c.fence(SOURCE), null);
          const t1 = Date.now();
          dyingClient.disconnect();
          await waitFor("d to take the dead holder's source", () => d.fence(SOURCE) !== null, 15_000);
          const took = Date.now() - t1;
          assert.ok(took < 10_000, `taken over in ${took} ms (within one 10 s poll interval)`);
          assert.equal(c.fence(SOURCE), null, "the dead holder's own clock ran out too");

          // A newer version joins: the older one steps back within one round.
          const e = await keeper(prefix, "0.2.0");
          try {
            await waitFor("the older orchestrator to step back", () => d.fence(SOURCE) === null, 5000);
            await waitFor("the newer one to take the source", () => e.fence(SOURCE) !== null, 5000);
          } finally {
            await e.close();
          }
          await waitFor("the older one to take it again when the newer one is gone", () => d.fence(SOURCE) !== null, 10_000);
        } finally {
          await c.close().catch(() => {});
          await d.close();
        }
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
}
