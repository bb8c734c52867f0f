import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { FlowProducer, Job, Queue } from "bullmq";
import { Redis } from "ioredis";
import { treeSchema } from "../../src/config/schema.ts";
import type { BenchData, StageResult } from "../../src/domain/results.ts";
import { createScratchSeries } from "../../src/demo/scratch-series.ts";
import { killOrphanedJobProcesses, membersOf, processGroupsDir } from "../../src/lib/job-processes.ts";
import { readProcessTable } from "../../src/lib/process-table.ts";
import { readSeriesInput } from "../../src/cli/read-series-input.ts";
import { planFlow } from "../../src/queue/plan-flow.ts";
import { ORCHESTRATOR_QUEUE } from "../../src/queue/queue-names.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { runCli } from "../helpers/run-cli.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * Two `patchbench runner` processes of one pool on a real Redis, as two hosts would be (each
 * its own data dir). The one that takes the flow's bench stage is killed with SIGKILL in the
 * middle of it: after `runner.stalledSec` without a lock renewal the job goes back to the
 * pool, the other runner runs the stage again from the start, and the flow ends with a whole
 * bench result — nothing lost, nothing measured twice into one result. The killed runner's
 * restart then kills what its stage left running.
 */
let redis: TestRedis;
let dir: string;
before(async () => {
  redis = await startTestRedis();
  dir = mkdtempSync(join(tmpdir(), "pb-lost-"));
  chmodSync(dir, 0o711);
});
after(async () => {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Entry {
  id: string;
  pid: number;
  state: string;
  job: { id: string; stage: string } | null;
}

test("a runner killed mid-stage: its job goes back to the pool after runner.stalledSec and another runner of the pool runs it to the end", async () => {
  const s = await createScratchSeries(join(dir, "series"));
  const box = await readSeriesInput([s.mboxPath]);
  const series = box.series.find((x) => x.kind === "patch")!;
  const bench = {
    sides: "settings",
    tests: ["TCP_RR"],
    sizes: [1],
    topologies: ["loopback"],
    rounds: 2,
    runsPerRound: 2,
    durationSec: 3,
    variants: [
      { name: "plain", settings: [] },
      { name: "nodelay", settings: [{ kind: "sockopt", option: "nodelay" }] },
    ],
  };
  const tree = treeSchema.parse({ name: "scratch", url: "unused", path: s.treeDir, pool: "losttest", stages: ["apply", "bench"], checks: [], bench });
  const plan = planFlow({ series, raw: box.raw, tree, installationId: "lost-test", treeTip: s.baseCommit, caps: { maxPatches: 100, maxSeriesBytes: 8 << 20 } });
  const connection = { host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: null };

  const configDir = join(dir, "cfg");
  mkdirSync(join(configDir, "trees"), { recursive: true });
  writeFileSync(join(configDir, "patchbench.yaml"), "redis:\n  prefix: pblost\nrunner:\n  heartbeatSec: 1\n  stalledSec: 5\ntrees: [scratch]\ndefaultTree: scratch\n");
  writeFileSync(join(configDir, "trees", "scratch.yaml"), "name: scratch\nurl: unused\n");
  // The runners' own host lock: nothing here is measured against another suite, and sockopt sides touch no sysctl.
  const lockEnv = { PATCHBENCH_LOCK_DIR: join(dir, "locks") };
  const runner = (name: string) => {
    let pid = 0;
    const done = runCli(["--config", configDir, "--data-dir", join(dir, name), "--redis-url", redis.url, "runner", "--pool", "losttest"], lockEnv, (p) => {
      pid = p;
    });
    return { pid: () => pid, done };
  };
  const first = runner("host-a");
  const second = runner("host-b");
  const client = new Redis({ host: "127.0.0.1", port: redis.port });
  const entries = async () => Object.values(await client.hgetall("pblost:runners")).map((v) => JSON.parse(v) as Entry);
  const orchestrator = new Queue(ORCHESTRATOR_QUEUE, { connection, prefix: "pblost" });
  try {
    await waitFor("both runners registered", async () => (await entries()).filter((e) => e.state === "running").length === 2);
    const flows = new FlowProducer({ connection, prefix: "pblost" });
    await flows.add(plan.job);
    await flows.close();

    // Whoever takes the bench stage is killed a few seconds into it.
    const holder = await waitFor("a runner took the bench stage", async () => (await entries()).find((e) => e.job?.stage === "bench"));
    const jobId = holder.job!.id;
    await new Promise((r) => setTimeout(r, 3000));
    const killedAt = Date.now();
    process.kill(holder.pid, "SIGKILL");
    const survivor = [first, second].find((r) => r.pid() !== holder.pid)!;

    // The other runner shows the same job as its own, then the flow's stages are all done.
    await waitFor("the surviving runner took the lost job", async () => (await entries()).find((e) => e.pid === survivor.pid() && e.job?.id === jobId));
    const tookSec = (Date.now() - killedAt) / 1000;
    // Not before the lock expired, and long before BullMQ's default 30 s: stalledSec is what counts.
    assert.ok(tookSec >= 4 && tookSec < 25, `taken back ${tookSec} s after the kill (stalledSec 5)`);
    const parent = await waitFor(
      "the flow's stages finished",
      async () => {
        const p = await Job.fromId(orchestrator, `${plan.flowId}-report`);
        return p && (await p.getState()) === "waiting" ? p : undefined;
      },
      120_000,
    );
    const values = Object.values(await parent.getChildrenValues()) as { results: StageResult[] }[];
    const results = values.find((v) => v.results.some((r) => r.stage === "bench"))!.results;
    assert.deepEqual(results.map((r) => r.stage), ["apply", "bench"]);
    const b = results[1] as StageResult<BenchData>;
    assert.notEqual(b.status, "error", b.summary);
    // The result is the second runner's whole run: every sample after the kill, and each
    // (variant, round, run) once — 2 variants x 2 runs in every round (2, or more when extended).
    assert.ok(new Date(b.startedAt).getTime() >= killedAt, `bench started ${b.startedAt}, before the kill`);
    const measured = b.data.samples.filter((x) => x.superseded === undefined).map((x) => `${x.variant}/${x.round}/${x.run}`);
    const rounds = new Set(b.data.samples.map((x) => x.round)).size;
    assert.ok(rounds >= 2);
    assert.deepEqual([...new Set(measured)].sort(), [...measured].sort(), "no run recorded twice");
    assert.equal(measured.length, 2 * rounds * 2, measured.join(" "));
    assert.ok(b.data.samples.every((x) => new Date(x.startedAt).getTime() >= killedAt));

    // What the killed runner's stage had started (its netserver, in a process group of its own)
    // outlived it; the runner's restart on that host kills it before taking work.
    const killedDir = join(dir, holder.pid === first.pid() ? "host-a" : "host-b");
    const record = JSON.parse(readFileSync(join(processGroupsDir(join(killedDir, "work")), `${holder.pid}.json`), "utf8")) as { groups: { pgid: number; startTime: number }[] };
    const left = membersOf(record.groups, readProcessTable());
    assert.ok(left.length > 0, "the killed stage left processes behind");
    let restartedPid = 0;
    const restarted = runCli(["--config", configDir, "--data-dir", killedDir, "--redis-url", redis.url, "runner", "--pool", "losttest"], lockEnv, (p) => {
      restartedPid = p;
    });
    await waitFor("the restarted runner registered", async () => (await entries()).some((e) => e.pid === restartedPid && e.state === "running"));
    process.kill(restartedPid, "SIGTERM");
    assert.equal((await restarted).code, 0);
    assert.deepEqual(membersOf(record.groups, readProcessTable()), [], `left running: ${left.join(", ")}`);
  } finally {
    await orchestrator.close();
    client.disconnect();
    for (const r of [first, second]) {
      try {
        process.kill(r.pid(), "SIGTERM");
      } catch {
        // already gone (the killed one)
      }
    }
    await Promise.all([first.done, second.done]);
    // Whatever a failed assertion left (the restart above is what the test checks).
    for (const host of ["host-a", "host-b"]) await killOrphanedJobProcesses(join(dir, host, "work"), 5000).catch(() => undefined);
  }
});
