import assert from "node:assert/strict";
import { test } from "node:test";
import { describeQueuedStart } from "./describe-queued-start.ts";

test("a /bench acknowledgement's place and start are the queue page's row, in minutes UTC; said plainly when there is none", () => {
  const row = { running: false, poolPosition: 3, startsAt: "2026-12-07T20:41:09.500Z" };
  assert.equal(describeQueuedStart(row, "x86"), "position 3 on runner pool `x86`, estimated start 2026-12-07 20:41 UTC");
  assert.equal(describeQueuedStart({ ...row, running: true, poolPosition: null, startsAt: null }, "x86"), "taken at once by a runner of pool `x86`");
  assert.equal(describeQueuedStart({ ...row, poolPosition: 1, startsAt: null }, "arm"), "position 1 on runner pool `arm`, no estimated start (no runner of this pool is up)");
  assert.equal(describeQueuedStart({ ...row, poolPosition: null, startsAt: null }, "arm"), "position unknown on runner pool `arm`, no estimated start (its jobs are not in the pool's queue)");
  assert.equal(describeQueuedStart(null, "arm"), "position unknown on runner pool `arm`, no estimated start (the queue could not be read)");
});
