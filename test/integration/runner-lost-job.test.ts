import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
 * restart then kills what its stage left running. A runner stopped with SIGTERM instead hands
 * its job back at once.
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

/** Two runners of one pool (own data dirs, as two hosts), one flow whose bench stage takes ~30 s. */
async function pool(name: string, stalledSec: number) {
  const root = join(dir, name);
  const s = await createScratchSeries(join(root, "series"));
  const box = await readSeriesInput([s.mboxPath]);
  const series = box.series.find((x) => x.kind === "patch")!;
  const bench = {
    sides: "settings",
    tests: ["TCP_RR"],
    sizes: [1],
    topologies: ["loopback"],
    // No adaptive extension: a noisy machine must not stretch the stage past the waits below.
    rounds: 2,
    maxRounds: 2,
    runsPerRound: 2,
    durationSec: 3,
    variants: [
      { name: "plain", settings: [] },
      { name: "nodelay", settings: [{ kind: "sockopt", option: "nodelay" }] },
    ],
  };
  const tree = treeSchema.parse({ name: "scratch", url: "unused", path: s.treeDir, pool: "losttest", stages: ["apply", "bench"], checks: [], bench });
  const plan = planFlow({ series, raw: box.raw, tree, installationId: name, treeTip: s.baseCommit, caps: { maxPatches: 100, maxSeriesBytes: 8 << 20 } });
  const prefix = `pb${name.replace(/[^a-z]/g, "")}`;
  const connection = { host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: null };
  const configDir = join(root, "cfg");
  mkdirSync(join(configDir, "trees"), { recursive: true });
  writeFileSync(join(configDir, "patchbench.yaml"), `redis:\n  prefix: ${prefix}\nrunner:\n  heartbeatSec: 1\n  stalledSec: ${stalledSec}\ntrees: [scratch]\ndefaultTree: scratch\n`);
  writeFileSync(join(configDir, "trees", "scratch.yaml"), "name: scratch\nurl: unused\n");
  // The runners' own host lock: nothing here is measured against another suite, and sockopt sides touch no sysctl.
  const lockEnv = { PATCHBENCH_LOCK_DIR: join(root, "locks") };
  const started: { pid: () => number; done: Promise<{ code: number | null }> }[] = [];
  const runner = (host: string) => {
    let pid = 0;
    const done = runCli(["--config", configDir, "--data-dir", join(root, host), "--redis-url", redis.url, "runner", "--pool", "losttest"], lockEnv, (p) => {
      pid = p;
    });
    const r = { host, pid: () => pid, done };
    started.push(r);
    return r;
  };
  const client = new Redis({ host: "127.0.0.1", port: redis.port });
  const entries = async () => Object.values(await client.hgetall(`${prefix}:runners`)).map((v) => JSON.parse(v) as Entry);
  const orchestrator = new Queue(ORCHESTRATOR_QUEUE, { connection, prefix });
  const runners = [runner("host-a"), runner("host-b")];
  return {
    root,
    plan,
    runners,
    runner,
    entries,
    async start() {
      await waitFor("both runners registered", async () => (await entries()).filter((e) => e.state === "running").length === 2);
      const flows = new FlowProducer({ connection, prefix });
      await flows.add(plan.job);
      await flows.close();
      // The bench stage's first netserver is up: the stage is really running.
      const holder = await waitFor("a runner took the bench stage", async () => (await entries()).find((e) => e.job?.stage === "bench"));
      const holderDir = join(root, runners.find((r) => r.pid() === holder.pid)!.host);
      await waitFor("the bench stage started its processes", () => {
        const file = join(processGroupsDir(join(holderDir, "work")), `${holder.pid}.json`);
        if (!existsSync(file)) return undefined;
        const groups = (JSON.parse(readFileSync(file, "utf8")) as { groups: { pgid: number; startTime: number }[] }).groups;
        return membersOf(groups, readProcessTable()).length > 0 || undefined;
      });
      return { holder, holderDir, other: runners.find((r) => r.pid() !== holder.pid)! };
    },
    /** The flow's stage results once every stage is done. */
    async results(): Promise<StageResult[]> {
      const parent = await waitFor(
        "the flow's stages finished",
        async () => {
          const p = await Job.fromId(orchestrator, `${plan.flowId}-report`);
          return p && (await p.getState()) === "waiting" ? p : undefined;
        },
        240_000,
      );
      const values = Object.values(await parent.getChildrenValues()) as { results: StageResult[] }[];
      return values.find((v) => v.results.some((r) => r.stage === "bench"))!.results;
    },
    async stop() {
      await orchestrator.close();
      client.disconnect();
      for (const r of started) {
        try {
          process.kill(r.pid(), "SIGTERM");
        } catch {
          // already gone (the killed one)
        }
      }
      await Promise.all(started.map((r) => r.done));
      // Whatever a failed assertion left (the restart in the test is what is checked).
      for (const host of ["host-a", "host-b"]) await killOrphanedJobProcesses(join(root, host, "work"), 5000).catch(() => undefined);
    },
  };
}

/** The bench result is one runner's whole run after `since`: each (variant, round, run) once, 2 variants x 2 runs per round. */
function assertWholeRun(b: StageResult<BenchData>, since: number): void {
  assert.notEqual(b.status, "error", b.summary);
  assert.ok(new Date(b.startedAt).getTime() >= since, `bench started ${b.startedAt}, before ${new Date(since).toISOString()}`);
  const measured = b.data.samples.filter((x) => x.superseded === undefined).map((x) => `${x.variant}/${x.round}/${x.run}`);
  const rounds = new Set(b.data.samples.map((x) => x.round)).size;
  assert.ok(rounds >= 2);
  assert.deepEqual([...new Set(measured)].sort(), [...measured].sort(), "no run recorded twice");
  assert.equal(measured.length, 2 * rounds * 2, measured.join(" "));
  assert.ok(b.data.samples.every((x) => new Date(x.startedAt).getTime() >= since));
}

test("a runner killed mid-stage: its job goes back to the pool after runner.stalledSec and another runner of the pool runs it to the end", async () => {
  const p = await pool("killed", 5);
  try {
    const { holder, holderDir, other } = await p.start();
    const killedAt = Date.now();
    process.kill(holder.pid, "SIGKILL");
    // The other runner shows the same job as its own, then the flow's stages are all done.
    await waitFor("the surviving runner took the lost job", async () => (await p.entries()).find((e) => e.pid === other.pid() && e.job?.id === holder.job!.id));
    const tookSec = (Date.now() - killedAt) / 1000;
    // After the lock's last renewal expired (renewed every stalledSec/2), and long before BullMQ's default 30 s.
    assert.ok(tookSec >= 2 && tookSec < 25, `taken back ${tookSec} s after the kill (stalledSec 5)`);
    const results = await p.results();
    assert.deepEqual(results.map((r) => r.stage), ["apply", "bench"]);
    assertWholeRun(results[1] as StageResult<BenchData>, killedAt);

    // What the killed runner's stage had started (its netserver, in a process group of its own)
    // outlived it; the runner's restart on that host kills it before taking work.
    const record = JSON.parse(readFileSync(join(processGroupsDir(join(holderDir, "work")), `${holder.pid}.json`), "utf8")) as { groups: { pgid: number; startTime: number }[] };
    const left = membersOf(record.groups, readProcessTable());
    assert.ok(left.length > 0, "the killed stage left processes behind");
    const restarted = p.runner(holderDir.endsWith("host-a") ? "host-a" : "host-b");
    await waitFor("the restarted runner registered", async () => (await p.entries()).some((e) => e.pid === restarted.pid() && e.state === "running"));
    process.kill(restarted.pid(), "SIGTERM");
    assert.equal((await restarted.done).code, 0);
    assert.deepEqual(membersOf(record.groups, readProcessTable()), [], `left running: ${left.join(", ")}`);
  } finally {
    await p.stop();
  }
});

test("a runner stopped with SIGTERM mid-stage hands its job back at once: another runner of the pool runs it long before the lock would expire", async () => {
  const p = await pool("stopped", 120);
  try {
    const { holder, other } = await p.start();
    const stoppedAt = Date.now();
    process.kill(holder.pid, "SIGTERM");
    const exit = await p.runners.find((r) => r.pid() === holder.pid)!.done;
    assert.equal(exit.code, 0);
    assert.ok(Date.now() - stoppedAt < 30_000, `stopped in ${Date.now() - stoppedAt} ms`);
    await waitFor("the other runner took the handed-back job", async () => (await p.entries()).find((e) => e.pid === other.pid() && e.job?.id === holder.job!.id), 60_000);
    const tookSec = (Date.now() - stoppedAt) / 1000;
    assert.ok(tookSec < 60, `taken ${tookSec} s after SIGTERM: by the hand-back, not the 120 s lock`);
    const results = await p.results();
    assertWholeRun(results[1] as StageResult<BenchData>, stoppedAt);
  } finally {
    await p.stop();
  }
});
