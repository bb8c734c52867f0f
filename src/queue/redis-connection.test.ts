import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { silentLogger } from "../lib/logger.ts";
import { connectRedis, newRedis, queuePrefix } from "./redis-connection.ts";

test("queuePrefix: a Redis nobody configured gets a prefix per data dir; a configured or private one keeps the configured prefix", () => {
  const a = queuePrefix("patchbench", "default-port", "/srv/a/.patchbench");
  const b = queuePrefix("patchbench", "default-port", "/srv/b/.patchbench");
  assert.match(a, /^patchbench-[0-9a-f]{8}$/);
  assert.notEqual(a, b, "two data dirs share no queue");
  assert.equal(queuePrefix("patchbench", "default-port", "/srv/a/.patchbench/"), a, "the same folder, however written");
  assert.equal(queuePrefix("patchbench", "configured", "/srv/a/.patchbench"), "patchbench");
  assert.equal(queuePrefix("patchbench", "private", "/srv/a/.patchbench"), "patchbench");
  assert.equal(queuePrefix("lab", "default-port", "/srv/a/.patchbench"), "lab", "an operator's own prefix is kept");
});

test('connectRedis: url "private" starts the data dir\'s own redis-server without looking at the default port, and stops it', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "pb-redis-private-"));
  try {
    const r = await connectRedis({ url: "private", dataDir, log: silentLogger() });
    assert.equal(r.found, "private");
    assert.equal(r.private, true);
    assert.equal(r.options.path, join(dataDir, "redis", "redis.sock"));
    const c = newRedis(r.options);
    assert.equal(await c.ping(), "PONG");
    c.disconnect();
    await r.close();
    assert.equal(existsSync(join(dataDir, "redis", "appendonlydir")), true, "AOF on");
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
