import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { lockFile } from "../lib/file-lock.ts";
import { silentLogger } from "../lib/logger.ts";
import { PRIVATE_REDIS_USERS_KEY } from "./job-ids.ts";
import { leavePrivateRedis, privateRedisLockPath, userEntry } from "./private-redis-users.ts";
import { connectRedis, newRedis } from "./redis-connection.ts";

/**
 * Another patchbench process on a data dir, driven line by line on stdin:
 * "go" connects (answers its describe), "ping" pings its Redis (answers
 * PONG or the error), "close" closes and exits, "exit" exits without close
 * (a forced exit). It says "loaded" once its modules are in.
 */
function user(dataDir: string) {
  const code = `
    import { createInterface } from "node:readline";
    import { connectRedis, newRedis } from ${JSON.stringify(join(import.meta.dirname, "redis-connection.ts"))};
    import { silentLogger } from ${JSON.stringify(join(import.meta.dirname, "..", "lib", "logger.ts"))};
    let r;
    process.stdout.write("loaded\\n");
    for await (const line of createInterface({ input: process.stdin })) {
      if (line === "go") {
        r = await connectRedis({ url: "private", dataDir: ${JSON.stringify(dataDir)}, log: silentLogger() });
        process.stdout.write(r.describe + "\\n");
      } else if (line === "ping") {
        const c = newRedis({ ...r.options, maxRetriesPerRequest: 1, retryStrategy: () => null });
        c.on("error", () => {});
        process.stdout.write((await c.ping().catch((e) => "ERR " + e.message)) + "\\n");
        c.disconnect();
      } else if (line === "close") {
        await r.close();
        process.exit(0);
      } else if (line === "exit") {
        process.exit(0);
      }
    }
  `;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { stdio: ["pipe", "pipe", "inherit"] });
  const lines: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  let buf = "";
  child.stdout.on("data", (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w) w(l);
      else lines.push(l);
    }
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
  const next = () => {
    const l = lines.shift();
    return l !== undefined ? Promise.resolve(l) : new Promise<string>((r) => waiters.push(r));
  };
  const ask = (cmd: string) => {
    child.stdin.write(`${cmd}\n`);
    return next();
  };
  return { child, loaded: next(), ask, exited, kill: () => child.kill("SIGKILL") };
}

/** Pids of the redis-servers listening on this socket. */
function servers(socket: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // redis-server rewrites its title (e.g. "redis-server unixsocket:<path>"): match the path anywhere.
      if (readFileSync(`/proc/${d}/cmdline`, "utf8").includes(socket)) out.push(Number(d));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

async function until(what: string, f: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!f()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function client(socket: string) {
  const c = newRedis({ path: socket, maxRetriesPerRequest: 1, retryStrategy: () => null });
  c.on("error", () => {});
  return c;
}

function setup(prefix: string) {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const socket = join(dataDir, "redis", "redis.sock");
  const cleanup = () => {
    for (const pid of servers(socket)) process.kill(pid, "SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { dataDir, socket, cleanup };
}

test("two processes starting at once on a data dir without a server: one redis-server starts, both use it, the last to leave stops it", async () => {
  const { dataDir, socket, cleanup } = setup("pb-redis-cold-");
  const a = user(dataDir);
  const b = user(dataDir);
  try {
    await Promise.all([a.loaded, b.loaded]);
    // Both told to start while the lock is held (a third process's start or leave under way): both are
    // then waiting at the same point when it is released, the moment two cold starts collide.
    const redisDir = join(dataDir, "redis");
    mkdirSync(redisDir, { recursive: true });
    const lock = await lockFile(privateRedisLockPath(redisDir), 5000);
    const answers = Promise.all([a.ask("go"), b.ask("go")]);
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(servers(socket), [], "nothing starts while another process holds the lock");
    lock.release();
    const [da, db] = await answers;
    assert.deepEqual([da, db].map((d) => d.endsWith("(private)")).sort(), [false, true], `${da} / ${db}`);
    assert.equal(servers(socket).length, 1, "one redis-server on the socket");
    const c = client(socket);
    assert.equal((await c.smembers(PRIVATE_REDIS_USERS_KEY)).length, 2);
    c.disconnect();
    assert.equal(await a.ask("ping"), "PONG");
    assert.equal(await b.ask("ping"), "PONG");
    a.child.stdin.write("close\n");
    assert.equal(await a.exited, 0);
    assert.equal(await b.ask("ping"), "PONG", "the first one leaving keeps it for the other");
    b.child.stdin.write("close\n");
    assert.equal(await b.exited, 0);
    await until("no redis-server left", () => servers(socket).length === 0 && !existsSync(socket));
  } finally {
    a.kill();
    b.kill();
    cleanup();
  }
});

test("a process joining while the last user is between 'nobody else' and SHUTDOWN waits, then has a Redis of its own", async () => {
  const { dataDir, socket, cleanup } = setup("pb-redis-leave-join-");
  const b = user(dataDir);
  try {
    const first = await connectRedis({ url: "private", dataDir, log: silentLogger() });
    await b.loaded;
    let joined: Promise<string> = Promise.resolve("");
    // The leave of first.close(), with the gap held open while the other process starts to join.
    const lock = await lockFile(privateRedisLockPath(join(dataDir, "redis")), 30_000);
    try {
      const left = await leavePrivateRedis(first.options, {
        entry: userEntry(),
        beforeShutdown: async () => {
          joined = b.ask("go");
          await new Promise((r) => setTimeout(r, 1500));
        },
      });
      assert.deepEqual(left, []);
      await until("socket removed", () => !existsSync(socket));
    } finally {
      lock.release();
    }
    await first.close();
    assert.match(await joined, /\(private\)$/, "it started a server of its own");
    assert.equal(await b.ask("ping"), "PONG");
    b.child.stdin.write("close\n");
    assert.equal(await b.exited, 0);
    await until("no redis-server left", () => servers(socket).length === 0);
  } finally {
    b.kill();
    cleanup();
  }
});

test("the process that started the server exiting without close (a forced exit) does not stop it under another live user; alone, it does", async () => {
  const { dataDir, socket, cleanup } = setup("pb-redis-forced-");
  const a = user(dataDir);
  const b = user(dataDir);
  const alone = user(dataDir);
  try {
    await Promise.all([a.loaded, b.loaded]);
    assert.match(await a.ask("go"), /\(private\)$/);
    assert.match(await b.ask("go"), /shared private/);
    a.child.stdin.write("exit\n");
    assert.equal(await a.exited, 0);
    assert.equal(await b.ask("ping"), "PONG", "still there for the other process");
    b.child.stdin.write("close\n");
    assert.equal(await b.exited, 0);
    await until("the last user stopped it", () => servers(socket).length === 0 && !existsSync(socket));
    await alone.loaded;
    assert.match(await alone.ask("go"), /\(private\)$/);
    alone.child.stdin.write("exit\n");
    assert.equal(await alone.exited, 0);
    assert.deepEqual(servers(socket), [], "alone, a forced exit still stops the server it started");
  } finally {
    a.kill();
    b.kill();
    alone.kill();
    cleanup();
  }
});

test("the last one alone stops the server: entries of processes that are gone (a dead pid, a pid now of another process, or of a boot before the server restarted) do not keep it", async () => {
  const { dataDir, socket, cleanup } = setup("pb-redis-stale-");
  try {
    const dead = spawnSync("true").pid;
    const first = await connectRedis({ url: "private", dataDir, log: silentLogger() });
    const c = client(socket);
    // This test's own pid with another start time: the pid reused by a process that is not the one that joined.
    await c.sadd(PRIVATE_REDIS_USERS_KEY, String(dead), `${process.pid}:1`);
    c.disconnect();
    await first.close();
    assert.deepEqual(servers(socket), [], "stopped: nobody live uses it");

    // An old-style entry naming pid 1 (always alive), then the server stops as at a reboot; the AOF keeps the entry.
    const second = await connectRedis({ url: "private", dataDir, log: silentLogger() });
    const d = client(socket);
    await d.sadd(PRIVATE_REDIS_USERS_KEY, "1");
    await d.call("SHUTDOWN").catch(() => undefined);
    d.disconnect();
    await until("stopped", () => servers(socket).length === 0);
    await second.close();
    const third = await connectRedis({ url: "private", dataDir, log: silentLogger() });
    assert.equal(third.private, true);
    await third.close();
    assert.deepEqual(servers(socket), [], "a fresh server forgets the users of the one before");
  } finally {
    cleanup();
  }
});
