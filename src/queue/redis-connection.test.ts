import assert from "node:assert/strict";
import { spawn } from "node:child_process";
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

/** Another process on the same data dir: connects to its private Redis, says "ready", closes when its stdin ends. */
function otherUser(dataDir: string): { ready: Promise<void>; leave: () => Promise<number | null> } {
  const code = `
    import { connectRedis } from ${JSON.stringify(join(import.meta.dirname, "redis-connection.ts"))};
    import { silentLogger } from ${JSON.stringify(join(import.meta.dirname, "..", "lib", "logger.ts"))};
    const r = await connectRedis({ url: "private", dataDir: ${JSON.stringify(dataDir)}, log: silentLogger() });
    process.stdout.write(r.describe + "\\n");
    process.stdin.resume();
    process.stdin.on("end", async () => { await r.close(); process.exit(0); });
  `;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { stdio: ["pipe", "pipe", "inherit"] });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.once("data", (d: Buffer) => (/shared private/.test(d.toString()) ? resolve() : reject(new Error(d.toString()))));
    child.once("exit", (c) => reject(new Error(`other user exited ${c}`)));
  });
  const leave = () =>
    new Promise<number | null>((resolve) => {
      child.once("exit", (c) => resolve(c));
      child.stdin.end();
    });
  return { ready, leave };
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("a private redis-server shared by two processes of one data dir: the one that started it leaving does not stop it under the other; the last one stops it", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "pb-redis-shared-"));
  const socket = join(dataDir, "redis", "redis.sock");
  let serverPid = 0;
  try {
    const first = await connectRedis({ url: "private", dataDir, log: silentLogger() });
    assert.equal(first.private, true);
    const c = newRedis({ ...first.options, maxRetriesPerRequest: 1, retryStrategy: () => null });
    c.on("error", () => {});
    serverPid = Number(/process_id:(\d+)/.exec(await c.info("server"))?.[1]);
    const other = otherUser(dataDir);
    await other.ready;
    await first.close();
    assert.equal(await c.ping(), "PONG", "still there for the other process");
    c.disconnect();
    assert.equal(await other.leave(), 0);
    assert.equal(existsSync(socket), false, "the last process stopped it");
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(running(serverPid), false, "no redis-server left running for this data dir");
  } finally {
    if (serverPid && running(serverPid)) process.kill(serverPid, "SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  }
});
