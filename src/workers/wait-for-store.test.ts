import assert from "node:assert/strict";
import { test } from "node:test";
import { DelayedError, type Job } from "bullmq";
import { createLogger } from "../lib/logger.ts";
import { openStore } from "../store/open-store.ts";
import { isStoreUnavailable, storeWaitMs, waitingForStore } from "./wait-for-store.ts";

test("an unreachable store is told from a wrong query", () => {
  const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
  assert.equal(isStoreUnavailable(refused), true);
  assert.equal(isStoreUnavailable(new Error("Connection terminated unexpectedly")), true);
  assert.equal(isStoreUnavailable(Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" })), true);
  assert.equal(isStoreUnavailable(Object.assign(new Error("the database system is starting up"), { code: "57P03" })), true);
  assert.equal(isStoreUnavailable(Object.assign(new Error("connection failure"), { code: "08006" })), true);
  assert.equal(isStoreUnavailable(new Error("wrapped", { cause: refused })), true, "through cause");
  assert.equal(isStoreUnavailable(new AggregateError([refused], "all failed")), true, "through AggregateError");
  assert.equal(isStoreUnavailable(Object.assign(new Error('relation "flows" does not exist'), { code: "42P01" })), false);
  assert.equal(isStoreUnavailable(Object.assign(new Error("duplicate key"), { code: "23505" })), false);
  assert.equal(isStoreUnavailable(new Error("series s1 is not in the store")), false);
  assert.equal(isStoreUnavailable(null), false);
});

test("the wait doubles from 5 s up to a minute", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 9].map(storeWaitMs), [5000, 10_000, 20_000, 40_000, 60_000, 60_000]);
});

test("a connection error while the store answers is the job's own (GitHub or SMTP away): it fails as before, no wait", async () => {
  const db = await openStore(":memory:");
  const delayed: number[] = [];
  const job = { id: "j1", moveToDelayed: async (ts: number) => void delayed.push(ts) } as unknown as Job;
  const refused = Object.assign(new Error("connect ECONNREFUSED 203.0.113.7:443"), { code: "ECONNREFUSED" });
  const wrapped = waitingForStore(createLogger({ level: "silent" }), db, async () => {
    throw new Error("request to GitHub failed", { cause: refused });
  });
  await assert.rejects(wrapped(job, "token"), /request to GitHub failed/);
  assert.deepEqual(delayed, []);
  // The store itself gone: the same error now means the job waits for it.
  await db.destroy();
  await assert.rejects(wrapped(job, "token"), (e: Error) => e instanceof DelayedError);
  assert.equal(delayed.length, 1);
});
