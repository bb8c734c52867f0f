import assert from "node:assert/strict";
import { test } from "node:test";
import { compareVersions, leaseTiming } from "./source-lease.ts";

test("a lease lives half the poll interval, between 5 and 30 s, and is renewed three times per life", () => {
  assert.deepEqual(leaseTiming(1), { ttlMs: 5000, everyMs: 1666 });
  assert.deepEqual(leaseTiming(30), { ttlMs: 15_000, everyMs: 5000 });
  assert.deepEqual(leaseTiming(300), { ttlMs: 30_000, everyMs: 10_000 });
  // A dead holder's source is taken over within ttl + 2 × every: inside one interval from 10 s up.
  for (const sec of [10, 30, 60, 300, 3600]) {
    const t = leaseTiming(sec);
    assert.ok(t.ttlMs + 2 * t.everyMs < sec * 1000, `${sec} s`);
  }
});

test("versions compare by number, part by part", () => {
  assert.equal(compareVersions("0.10.0", "0.9.1"), 1);
  assert.equal(compareVersions("0.1.0", "0.1"), 0);
  assert.equal(compareVersions("1.2.3", "1.2.4"), -1);
  assert.equal(compareVersions("2.0.0-rc1", "1.9.9"), 1);
  assert.equal(compareVersions("1.2.0-rc1", "1.2.0"), -1, "a release candidate is older than its release");
  assert.equal(compareVersions("1.2.0-rc2", "1.2.0-rc1"), 1);
  assert.equal(compareVersions("1.2.0+build5", "1.2.0"), 0);
});
