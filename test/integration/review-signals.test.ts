import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createScratchSeries, type ScratchSeries } from "../../src/demo/scratch-series.ts";
import { acquireHostLock } from "../../src/lib/host-lock.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { exitOf, runCli, spawnCli } from "../helpers/run-cli.ts";

/**
 * `review` and its output's reader: a pipe that closes (`| head -1`, a reader
 * that went away) ends it quietly, and SIGTERM while it waits stops it within
 * seconds with the flow left to resume (the README's promise).
 */
describe("patchbench review: signals and pipes (real CLI, Redis, git)", () => {
  let redis: TestRedis;
  let dir: string;
  let s: ScratchSeries;
  before(async () => {
    redis = await startTestRedis();
    dir = mkdtempSync(join(tmpdir(), "pb-signals-"));
    chmodSync(dir, 0o711); // the sandbox user must reach the runner's worktrees
    s = await createScratchSeries(join(dir, "series"));
  });
  after(async () => {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const args = (data: string, ...more: string[]) => [
    "--data-dir", join(dir, data), "--redis-url", redis.url, "review", s.mboxPath, "--tree-path", s.treeDir, "--stages", "apply", ...more,
  ];

  test("piped into head -1: the first line arrives, review ends by itself, no stack trace", async () => {
    const cli = spawnCli(args("head"), {}, ["ignore", "pipe", "pipe"]);
    const head = spawn("head", ["-1"], { stdio: [cli.stdout!, "pipe", "ignore"] });
    let first = "";
    head.stdout?.on("data", (d: Buffer) => {
      first += d.toString();
    });
    let stderr = "";
    cli.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const [c, h] = await Promise.all([exitOf(cli), exitOf(head)]);
    assert.equal(h.code, 0);
    assert.match(first, /^patchbench: all checks passed\n$/);
    // The report fits the pipe in one write, or the rest meets a closed pipe: either way a quiet end.
    assert.ok(c.code === 0 || c.code === 141, `exit ${c.code}: ${stderr}`);
    assert.doesNotMatch(stderr, /EPIPE|Error:|at .*\.m?js:\d+/);
  });

  test("2>&1 | head -1: head takes the first progress line, review stops at its next write (141) within seconds", async () => {
    const head = spawn("head", ["-1"], { stdio: ["pipe", "pipe", "ignore"] });
    let first = "";
    head.stdout?.on("data", (d: Buffer) => {
      first += d.toString();
    });
    // stdout and stderr both into head's stdin, as the shell's 2>&1 | does.
    const cli = spawnCli(args("head2"), {}, ["ignore", head.stdin!, head.stdin!]);
    head.stdin!.destroy();
    const [c, h] = await Promise.all([exitOf(cli), exitOf(head)]);
    assert.equal(h.code, 0);
    assert.match(first, /reading .*series\.mbox\n$/);
    assert.equal(c.signal, null);
    assert.equal(c.code, 141);
    assert.ok(c.ms < 15_000, `took ${c.ms} ms`);
  });

  test("stderr and stdout closed under it: ends quietly within seconds, and the flow is intact for the next review", async () => {
    const cli = spawnCli(args("closed"), {}, ["ignore", "pipe", "pipe"]);
    // The reader goes away before review writes anything.
    cli.stdout!.destroy();
    cli.stderr!.destroy();
    const c = await exitOf(cli);
    assert.equal(c.signal, null, "not killed by a signal");
    assert.ok(c.code === 141 || c.code === 0, `exit ${c.code}`);
    assert.ok(c.ms < 15_000, `took ${c.ms} ms`);
    const again = await runCli(args("closed"));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^patchbench: all checks passed/);
  });

  test("SIGTERM while waiting for a runner: exits 130 within seconds; the next review resumes the same flow", async () => {
    const cli = spawnCli(args("term", "--no-local-runner"));
    let stderr = "";
    const queued = new Promise<void>((resolve) => {
      cli.stderr!.on("data", (d: Buffer) => {
        stderr += d.toString();
        if (/flow queued: /.test(stderr)) resolve();
      });
    });
    await queued;
    const flowId = /flow queued: (\S+)/.exec(stderr)![1]!;
    cli.kill("SIGTERM");
    const c = await exitOf(cli);
    assert.equal(c.code, 130, stderr);
    assert.ok(c.ms < 5000, `stopped in ${c.ms} ms`);
    assert.match(stderr, /interrupted; stopping/);
    // The flow stayed queued: a new review with a local runner picks it up.
    const again = await runCli(args("term"));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`flow already exists \\(an earlier review stopped before its report; resuming it\\): ${flowId}`));
    assert.match(again.stdout, /^patchbench: all checks passed/);
  });

  test("SIGTERM while the bench stage runs: stops within seconds, sysctls restored, the stage resumes on the next review", async () => {
    // Read under the machine's bench lock: a bench of another test may hold busy_read at its B value.
    const busyRead = async () => {
      const lock = await acquireHostLock("bench");
      try {
        return readFileSync("/proc/sys/net/core/busy_read", "utf8").trim();
      } finally {
        lock.release();
      }
    };
    const before = await busyRead();
    const bench = ["--stages", "apply,bench", "--sizes", "1", "--topologies", "loopback", "--rounds", "4", "--runs", "1", "--duration", "3"];
    const data = ["--data-dir", join(dir, "bench"), "--redis-url", redis.url, "review", s.mboxPath, "--tree-path", s.treeDir];
    const cli = spawnCli([...data, ...bench]);
    let stderr = "";
    const running = new Promise<void>((resolve) => {
      cli.stderr!.on("data", (d: Buffer) => {
        stderr += d.toString();
        // Progress names the stage, its cells and the time left.
        if (/stage 2\/2 bench: running for \d+ s, 1 cell x 2 variants, about .* left/.test(stderr)) resolve();
      });
    });
    const exited = exitOf(cli);
    // A review that ends before its bench runs fails here instead of waiting forever.
    const first = await Promise.race([running.then(() => "running" as const), exited.then(() => "exited" as const)]);
    assert.equal(first, "running", stderr);
    // Let it get into its runs (the B side switches busy_read).
    await new Promise((r) => setTimeout(r, 4000));
    const killedAt = Date.now();
    cli.kill("SIGTERM");
    const c = await exited;
    const ms = Date.now() - killedAt;
    assert.equal(c.code, 130, stderr);
    assert.ok(ms < 10_000, `stopped in ${ms} ms`);
    assert.equal(await busyRead(), before, "busy_read restored");
    const again = await runCli([...data, ...bench]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /flow already exists/);
    assert.match(again.stdout, /TCP_RR \(loopback\) 1 B /);
  });

  test("--rerun makes a fresh flow of the same series (a first run keeps the plain id)", async () => {
    const first = await runCli(args("rerun", "--rerun"));
    assert.equal(first.code, 0, first.stderr);
    const id = /flow queued: (\S+)/.exec(first.stderr)![1]!;
    assert.doesNotMatch(id, /-rerun-/, "nothing ran before: no rerun suffix");
    const rerun = await runCli(args("rerun", "--rerun"));
    assert.equal(rerun.code, 0, rerun.stderr);
    const id2 = /flow queued: (\S+)/.exec(rerun.stderr)?.[1];
    assert.equal(id2?.startsWith(`${id}-rerun-`), true, rerun.stderr);
  });
});

describe("patchbench review: the tree is the one asked for", () => {
  let redis: TestRedis;
  let dir: string;
  before(async () => {
    redis = await startTestRedis();
    dir = mkdtempSync(join(tmpdir(), "pb-origin-"));
    chmodSync(dir, 0o711); // the sandbox user must reach the runner's worktrees
  });
  after(async () => {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("--tree-path to another repository after a review: the mirror follows it, and the report says so", async () => {
    const s = await createScratchSeries(join(dir, "a"));
    // Another repository of the same tree name, where the series cannot apply.
    const other = await createScratchSeries(join(dir, "b"), { conflicting: true });
    const data = join(dir, "data");
    const review = (tree: string) => runCli(["--data-dir", data, "--redis-url", redis.url, "review", s.mboxPath, "--tree-path", tree, "--stages", "apply"]);
    const first = await review(s.treeDir);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^patchbench: all checks passed/);
    assert.match(first.stderr, new RegExp(`tree bpf-next from ${s.treeDir} `));
    const second = await review(other.treeDir);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /flow queued: /, "another origin is another flow");
    assert.match(second.stderr, new RegExp(`tree bpf-next from ${other.treeDir} `));
    assert.match(second.stdout, /^patchbench: does not apply to bpf-next/);
    assert.match(second.stdout, new RegExp(`tree origin\\s+${other.treeDir}: its own\\s+mirror`));
  });
});

describe("patchbench bench: signals and pipes", () => {
  const args = (data: string) => [
    "--data-dir", data, "bench", "--variant", "none", "--variant", "busy_read=50",
    "--matrix", "small", "--topologies", "loopback", "--sizes", "1", "--rounds", "6", "--duration", "3",
  ];

  test("SIGTERM mid-matrix: sysctls restored, the partial table says INCOMPLETE, exit 130; a closed output pipe ends it the same way (141)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-bench-sig-"));
    chmodSync(dir, 0o711);
    try {
      const before = readFileSync("/proc/sys/net/core/busy_read", "utf8").trim();
      const cli = spawnCli(args(join(dir, "a")));
      let stdout = "";
      cli.stdout!.on("data", (d: Buffer) => {
        stdout += d.toString();
      });
      await new Promise((r) => setTimeout(r, 8000));
      cli.kill("SIGTERM");
      const c = await exitOf(cli);
      assert.equal(c.code, 130, stdout);
      assert.ok(c.ms < 10_000, `stopped in ${c.ms} ms`);
      assert.match(stdout, /INCOMPLETE/);
      assert.equal(readFileSync("/proc/sys/net/core/busy_read", "utf8").trim(), before);

      const closed = spawnCli(args(join(dir, "b")));
      await new Promise((r) => setTimeout(r, 8000));
      closed.stdout!.destroy();
      closed.stderr!.destroy();
      // The next progress line meets the closed pipe.
      const k = await exitOf(closed);
      assert.equal(k.signal, null);
      assert.ok(k.code === 141, `exit ${k.code}`);
      assert.equal(readFileSync("/proc/sys/net/core/busy_read", "utf8").trim(), before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("SIGTERM while waiting for another benchmark's host lock: exit 130, says nothing was measured", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-bench-lock-"));
    // This test process holds a private machine lock, as another benchmark would.
    const lock = await acquireHostLock("bench", { dir: join(dir, "locks") });
    try {
      // At warn (spawnCli's level) the wait is said: a silent wait looks like a hang.
      const cli = spawnCli(args(join(dir, "a")), { PATCHBENCH_LOCK_DIR: join(dir, "locks") });
      let stderr = "";
      await new Promise<void>((resolve) => {
        cli.stderr!.on("data", (d: Buffer) => {
          stderr += d.toString();
          if (/waiting for another benchmark on this machine/.test(stderr)) resolve();
        });
      });
      cli.kill("SIGTERM");
      const c = await exitOf(cli);
      assert.equal(c.code, 130, stderr);
      assert.ok(c.ms < 5000, `stopped in ${c.ms} ms`);
      assert.match(stderr, /patchbench: interrupted \(SIGTERM\) before anything was measured/);
    } finally {
      lock.release();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
