import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createScratchSeries } from "../../src/demo/scratch-series.ts";
import { writeDemoConfig } from "../../src/demo/write-demo-config.ts";
import { readProcessTable } from "../../src/lib/process-table.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { runCli } from "../helpers/run-cli.ts";

let redis: TestRedis;
let dir: string;
before(async () => {
  redis = await startTestRedis();
  dir = mkdtempSync(join(tmpdir(), "pb-deadline-"));
});
after(async () => {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** netperf runs of this (unusual) length are ours. */
const LENGTH = "47";
const ourNetperfs = () =>
  readProcessTable().filter((p) => {
    try {
      const argv = readFileSync(`/proc/${p.pid}/cmdline`, "utf8").split("\0");
      return argv[0]?.endsWith("netperf") && argv.includes("-l") && argv[argv.indexOf("-l") + 1] === LENGTH;
    } catch {
      return false;
    }
  });

test("runner.jobTimeoutSec is a real deadline: a stage past it is an infrastructure error and its processes are killed", async () => {
  const s = await createScratchSeries(join(dir, "s"));
  const configDir = writeDemoConfig({
    dir,
    treePath: s.treeDir,
    maildir: join(dir, "maildir"),
    bench: { sizes: [1], topologies: ["loopback"], rounds: 2, maxRounds: 2, runsPerRound: 1, durationSec: Number(LENGTH) },
  });
  const globalFile = join(configDir, "patchbench.yaml");
  writeFileSync(globalFile, readFileSync(globalFile, "utf8").replace(/^ {2}jobTimeoutSec: 7200$/m, "  jobTimeoutSec: 10"));
  const t0 = Date.now();
  const r = await runCli(["--config", configDir, "--data-dir", join(dir, "data"), "--redis-url", redis.url, "review", s.mboxPath]);
  const took = (Date.now() - t0) / 1000;
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  assert.match(r.stdout, /bench: could not run \(infrastructure, not the series\): stage exceeded\s+runner\.jobTimeoutSec=10/);
  // Apply and selftests take a few seconds; the bench alone would take 4 runs x 47 s (+ warm-ups).
  assert.ok(took < 40, `the review took ${took.toFixed(0)} s`);
  assert.deepEqual(ourNetperfs(), [], "no netperf of the job is left running");
  assert.match(r.stderr, /stage ran out of time; its processes were killed/);
});

test("runner.flowTimeoutSec bounds the whole flow: the stage running at it is cut short and killed, as an infrastructure error", async () => {
  const s = await createScratchSeries(join(dir, "s2"));
  const configDir = writeDemoConfig({
    dir: join(dir, "flow"),
    treePath: s.treeDir,
    maildir: join(dir, "maildir2"),
    bench: { sizes: [1], topologies: ["loopback"], rounds: 2, maxRounds: 2, runsPerRound: 1, durationSec: Number(LENGTH) },
  });
  const globalFile = join(configDir, "patchbench.yaml");
  const text = readFileSync(globalFile, "utf8");
  assert.match(text, /^ {2}flowTimeoutSec: 21600$/m);
  writeFileSync(globalFile, text.replace(/^ {2}flowTimeoutSec: 21600$/m, "  flowTimeoutSec: 20"));
  const t0 = Date.now();
  const r = await runCli(["--config", configDir, "--data-dir", join(dir, "data2"), "--redis-url", redis.url, "review", s.mboxPath]);
  const took = (Date.now() - t0) / 1000;
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  // The bench is cut at the flow's deadline (or, on a slow machine, never starts): either way the flow's limit is named.
  assert.match(r.stdout, /bench: could not run \(infrastructure, not the series\): (not run: )?flow exceeded\s+runner\.flowTimeoutSec=20/);
  assert.ok(took < 60, `the review took ${took.toFixed(0)} s`);
  assert.deepEqual(ourNetperfs(), [], "no netperf of the job is left running");
});
