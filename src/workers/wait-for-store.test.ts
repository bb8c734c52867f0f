import assert from "node:assert/strict";
import { test } from "node:test";
import { isStoreUnavailable, storeWaitMs } from "./wait-for-store.ts";

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
