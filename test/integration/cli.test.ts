import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { EMBEDDED_CONFIG_DIR } from "../../src/config/load-config.ts";
import { createScratchSeries } from "../../src/demo/scratch-series.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { CLI, runCli } from "../helpers/run-cli.ts";

describe("patchbench CLI", () => {
  let dir: string;
  let redis: TestRedis;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pb-cli-"));
    redis = await startTestRedis();
  });
  after(async () => {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("--help lists every command", async () => {
    const r = await runCli(["--help"]);
    assert.equal(r.code, 0);
    for (const c of ["start", "runner", "review", "series", "config", "quarantine"]) assert.match(r.stdout, new RegExp(`^  ${c}\\b`, "m"));
  });

  test("config check: the shipped defaults pass; errors name file, path and expectation", async () => {
    const ok = await runCli(["config", "check"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /prefix: patchbench/);
    const bad = join(dir, "bad-config");
    cpSync(EMBEDDED_CONFIG_DIR, bad, { recursive: true });
    writeFileSync(join(bad, "patchbench.yaml"), "logLevel: chatty\nredis:\n  url: http://x\n");
    writeFileSync(join(bad, "trees", "bpf-next.yaml"), "name: bpf-next\nurl: x\nbench:\n  sizes: [0]\n");
    const r = await runCli(["--config", bad, "config", "check"]);
    assert.equal(r.code, 78);
    assert.match(r.stderr, /patchbench\.yaml:1:11: logLevel: /);
    assert.match(r.stderr, /trees\/bpf-next\.yaml:4:11: bench\.sizes\.0: /);
    // Flags win over the file.
    const f = await runCli(["--config", EMBEDDED_CONFIG_DIR, "--data-dir", "/srv/pb", "config", "check", "--json"]);
    assert.equal(JSON.parse(f.stdout).global.dataDir, "/srv/pb");
    // A config that does not load stops other commands with exit 78.
    const s = await runCli(["--config", bad, "quarantine", "list"]);
    assert.equal(s.code, 78);
  });

  test("series --json follows the documented contract", async () => {
    const s = await createScratchSeries(join(dir, "series"));
    const r = await runCli(["series", s.mboxPath, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(out).sort(), ["quarantined", "replies", "series"]);
    const [one] = out.series;
    assert.equal(one.title, "bpf: SO_BUSY_POLL from sockops programs");
    assert.equal(one.tree, "bpf-next");
    assert.equal(one.version, 1);
    assert.equal(one.total, 2);
    assert.equal(one.complete, true);
    assert.equal(one.baseCommit, s.baseCommit);
    assert.match(one.cover.messageId, /^cover\.\d+\.git\.ada@example\.org$/);
    assert.deepEqual(one.patches.map((p: { index: number }) => p.index), [1, 2]);
    const notMbox = await runCli(["series", join(dir, "missing")]);
    assert.equal(notMbox.code, 65);
  });

  test("a runner agent in its own process takes the pool's jobs from Redis", async () => {
    const s = await createScratchSeries(join(dir, "runner"));
    const data = join(dir, "runner-data");
    mkdirSync(data, { recursive: true });
    const agent: ChildProcess = spawn(process.execPath, [CLI, "--data-dir", join(dir, "agent-data"), "--redis-url", redis.url, "runner", "--pool", "local"], {
      env: { ...process.env, PATCHBENCH_LOG_LEVEL: "info" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let agentLog = "";
    agent.stderr?.on("data", (d: Buffer) => {
      agentLog += d.toString();
    });
    try {
      const r = await runCli([
        "--data-dir", data, "--redis-url", redis.url, "review", s.mboxPath, "--tree-path", s.treeDir,
        "--stages", "apply,selftests", "--no-local-runner", "--timeout", "120",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Apply: {2}PASS/);
      assert.match(agentLog, /"stage":"apply".*"msg":"stage finished"/);
      assert.match(agentLog, /"stage":"selftests".*"msg":"stage finished"/);
    } finally {
      agent.kill("SIGTERM");
      const code = await new Promise<number | null>((res) => agent.once("exit", res));
      assert.equal(code, 0, agentLog.slice(-1000));
    }
  });
});
