import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Redis } from "ioredis";
import { createBenchLimiter, REFUSAL_TTL_SEC } from "../../src/queue/bench-limiter.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";

let server: TestRedis;
let redis: Redis;
before(async () => {
  server = await startTestRedis();
  redis = new Redis(server.url);
});
after(async () => {
  redis.disconnect();
  await server.stop();
});

test("/bench limits on a real Redis: per sender, global, a new window, one refusal per place; every key expires", async () => {
  let now = Date.UTC(2026, 5, 12, 10, 0, 0);
  const limiter = createBenchLimiter(redis, "t1", { perSender: 2, global: 3, windowHours: 1, refusalsPerHour: 100 }, () => now);
  const req = (sender: string) => limiter.consume({ kind: "request", sender });
  assert.deepEqual([await req("github:a"), await req("github:a"), await req("github:a")], [true, true, false], "per sender");
  assert.deepEqual([await req("mail:b@x"), await req("mail:c@x")], [true, false], "global: 3 in all");
  // A sender refused by the global limit did not use up its own budget.
  now += 3600_000;
  assert.deepEqual([await req("mail:c@x"), await req("mail:c@x"), await req("mail:c@x")], [true, true, false], "a new window");

  const refuse = (sender: string, place: string) => limiter.consume({ kind: "refusal", sender, place });
  assert.deepEqual([await refuse("github:m", "o/r#7"), await refuse("github:m", "o/r#7"), await refuse("github:m", "o/r#8"), await refuse("github:n", "o/r#7")], [true, false, true, true]);

  const keys = await redis.keys("t1:*");
  assert.ok(keys.length >= 6, keys.join(" "));
  for (const k of keys) {
    const ttl = await redis.ttl(k);
    assert.ok(ttl > 0 && ttl <= Math.max(3600, REFUSAL_TTL_SEC), `${k} ttl ${ttl}`);
  }
});

test("refusal replies of everyone together: capped per hour in the same step; the first one held says so once; a new hour answers again", async () => {
  let now = Date.UTC(2026, 5, 12, 10, 0, 0);
  const limiter = createBenchLimiter(redis, "t2", { perSender: 2, global: 3, windowHours: 24, refusalsPerHour: 3 }, () => now);
  const refuse = (sender: string, place: string) => limiter.consume({ kind: "refusal", sender, place });
  // Many accounts on many PRs: each sender/place pair is new, so only the hourly cap holds them.
  const verdicts = await Promise.all(Array.from({ length: 10 }, (_, i) => refuse(`github:sock${i}`, `o/r#${100 + (i % 4)}`)));
  assert.equal(verdicts.filter((v) => v === true).length, 3, JSON.stringify(verdicts));
  assert.equal(verdicts.filter((v) => v === "capped-first").length, 1, JSON.stringify(verdicts));
  assert.equal(verdicts.filter((v) => v === "capped").length, 6, JSON.stringify(verdicts));
  // The daily mark still comes first: an answered sender is not counted again.
  const answered = verdicts.indexOf(true);
  assert.equal(await refuse(`github:sock${answered}`, `o/r#${100 + (answered % 4)}`), false);
  // A sender held by the cap got nothing, so in the next hour it may be answered.
  const held = verdicts.indexOf("capped");
  now += 3600_000;
  assert.equal(await refuse(`github:sock${held}`, `o/r#${100 + (held % 4)}`), true);
  assert.equal(await refuse(`github:sock${held}`, `o/r#${100 + (held % 4)}`), false);

  for (const k of await redis.keys("t2:bench:refusals:*")) {
    const ttl = await redis.ttl(k);
    assert.ok(ttl > 0 && ttl <= 3600, `${k} ttl ${ttl}`);
  }
});
