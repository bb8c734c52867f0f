import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { FlowProducer, Job, Queue } from "bullmq";
import { Redis } from "ioredis";
import { treeSchema } from "../../src/config/schema.ts";
import type { ApplyData, BuildData, SelftestsData, StageResult } from "../../src/domain/results.ts";
import { createScratchSeries } from "../../src/demo/scratch-series.ts";
import { planFlow } from "../../src/queue/plan-flow.ts";
import { ORCHESTRATOR_QUEUE } from "../../src/queue/queue-names.ts";
import { readSeriesInput } from "../../src/cli/read-series-input.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { runCli } from "../helpers/run-cli.ts";

/**
 * `patchbench runner` as a separate process on a real Redis: it takes the
 * stage jobs of a flow (apply → build → selftests) from its pool queue,
 * runs them on real git, make/gcc and the host probes, and stores each
 * stage's result as the job's return value, where the report job (the
 * flow's parent, not run here) reads them. SIGTERM stops it cleanly.
 */
describe("patchbench runner (real Redis, separate process)", () => {
  let redis: TestRedis;
  let dir: string;
  before(async () => {
    redis = await startTestRedis();
    dir = mkdtempSync(join(tmpdir(), "pb-agent-"));
    // The sandbox user must be able to reach the data dir's worktrees (mkdtemp makes 0700).
    chmodSync(dir, 0o711);
  });
  after(async () => {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("takes a flow's jobs, stores apply/build/selftests results, leaves no worktree; `patchbench runners` shows it busy, idle, stopped, and a killed one lost", async () => {
    const s = await createScratchSeries(join(dir, "series"));
    const box = await readSeriesInput([s.mboxPath]);
    const series = box.series.find((x) => x.kind === "patch")!;
    const tree = treeSchema.parse({
      name: "scratch",
      url: "unused",
      path: s.treeDir,
      pool: "agenttest",
      stages: ["apply", "build", "selftests"],
      suites: ["host-probes"],
      checks: ["signed-off-by", "fixes-tag"],
      // The scratch tree is no kernel: the build stage's make fails on the base, an error result, not a crash.
      build: { baseConfig: "tinyconfig", selftestsConfig: false, ccache: false, timeoutSec: 60 },
    });
    const plan = planFlow({ series, raw: box.raw, tree, installationId: "agent-test", treeTip: s.baseCommit, caps: { maxPatches: 100, maxSeriesBytes: 8 << 20 } });
    // The same series over ingest.maxPatches: one stage, no patches, the refusal as its result.
    const capped = planFlow({ series, raw: box.raw, tree, installationId: "agent-test", treeTip: s.baseCommit, caps: { maxPatches: 1, maxSeriesBytes: 8 << 20 } });
    assert.notEqual(capped.flowId, plan.flowId);
    const connection = { host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: null };
    const flows = new FlowProducer({ connection, prefix: "pbtest" });
    await flows.add(capped.job);
    await flows.add(plan.job);
    await flows.close();

    const configDir = join(dir, "cfg");
    const { mkdirSync, writeFileSync } = await import("node:fs");
    mkdirSync(join(configDir, "trees"), { recursive: true });
    writeFileSync(join(configDir, "patchbench.yaml"), "redis:\n  prefix: pbtest\nrunner:\n  heartbeatSec: 1\ntrees: [scratch]\ndefaultTree: scratch\n");
    writeFileSync(join(configDir, "trees", "scratch.yaml"), "name: scratch\nurl: unused\n");
    let pid = 0;
    const dataDir = join(dir, "data");
    let ended: { code: number | null; stderr: string } | null = null;
    const agent = runCli(["--config", configDir, "--data-dir", dataDir, "--redis-url", redis.url, "runner", "--pool", "agenttest"], {}, (p) => {
      pid = p;
    }).then((r) => {
      ended = r;
      return r;
    });
    const orchestrator = new Queue(ORCHESTRATOR_QUEUE, { connection, prefix: "pbtest" });
    // The registry while it works: every job it took shows up as its current job.
    const client = new Redis({ host: "127.0.0.1", port: redis.port });
    const jobsSeen = new Set<string>();
    const watch = setInterval(() => {
      client.hgetall("pbtest:runners").then((h) => {
        for (const v of Object.values(h)) {
          const job = (JSON.parse(v) as { job: { id: string } | null }).job;
          if (job) jobsSeen.add(job.id);
        }
      }, () => {});
    }, 50);
    const deadline = Date.now() + 120_000;
    let parent: Job | undefined;
    for (;;) {
      parent = await Job.fromId(orchestrator, `${plan.flowId}-report`);
      if (parent && (await parent.getState()) === "waiting") break;
      assert.equal(ended, null, "the runner exited early");
      assert.ok(Date.now() < deadline, "flow did not finish in time");
      await new Promise((r) => setTimeout(r, 500));
    }
    const values = Object.values(await parent.getChildrenValues()) as { results: StageResult[] }[];
    const cappedParent = await Job.fromId(orchestrator, `${capped.flowId}-report`);
    assert.equal(await cappedParent?.getState(), "waiting", "the refused flow finished before the other");
    const refused = (Object.values(await cappedParent!.getChildrenValues()) as { results: StageResult[] }[])[0]!.results;
    assert.deepEqual(
      refused.map((r) => [r.stage, r.status, r.summary]),
      [["apply", "skip", `series has ${series.patches.length} patches, over ingest.maxPatches=1; not run`]],
    );
    clearInterval(watch);
    const cli = ["--config", configDir, "--data-dir", dataDir, "--redis-url", redis.url];
    const listed = async () => {
      const r = await runCli([...cli, "runners", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { runners: { id: string; pool: string; state: string; pid: number; job: unknown; doctor: { fail: number } | null; profile: { cpuCount: number; kernelRelease: string } }[] }).runners;
    };
    assert.ok([...jobsSeen].some((j) => j.startsWith(plan.flowId)), `the registry showed the flow's jobs: ${[...jobsSeen].join(", ")}`);
    const idle = await listed();
    assert.deepEqual(idle.map((r) => [r.pool, r.state, r.pid, r.job]), [["agenttest", "idle", pid, null]]);
    assert.ok(idle[0]!.profile.cpuCount >= 1 && idle[0]!.profile.kernelRelease.length > 0);
    assert.equal(idle[0]!.doctor?.fail, 0, "the doctor's counts at start are in its entry");
    process.kill(pid, "SIGTERM");
    const exit = await agent;
    await orchestrator.close();
    assert.equal(exit.code, 0, exit.stderr);
    assert.deepEqual((await listed()).map((r) => r.state), ["stopped"]);

    // A runner that dies without a word: lost after three silent intervals, next to the stopped one.
    let lostPid = 0;
    const dying = runCli([...cli, "runner", "--pool", "agenttest"], {}, (p) => {
      lostPid = p;
    });
    for (let i = 0; ; i++) {
      if ((await listed()).some((r) => r.pid === lostPid && r.state === "idle")) break;
      assert.ok(i < 120, "the second runner registered");
      await new Promise((r) => setTimeout(r, 250));
    }
    process.kill(lostPid, "SIGKILL");
    await dying;
    await new Promise((r) => setTimeout(r, 3500));
    const text = await runCli([...cli, "runners"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`/agenttest/${lostPid}\\s+agenttest\\s+lost\\s+`));
    assert.match(text.stdout, new RegExp(`/agenttest/${pid}\\s+agenttest\\s+stopped\\s+`));
    assert.match(text.stdout, /^lost: no heartbeat for 3 intervals/m);
    client.disconnect();

    const results = values[0]!.results;
    assert.deepEqual(results.map((r) => r.stage), ["apply", "build", "selftests"]);
    const apply = results[0] as StageResult<ApplyData>;
    assert.equal(apply.status, "pass", apply.summary);
    assert.equal(apply.data.baseRule, "base-commit trailer");
    assert.deepEqual(apply.data.checks?.map((c) => [c.id, c.status]), [["signed-off-by", "pass"], ["fixes-tag", "skip"]]);
    const build = results[1] as StageResult<BuildData>;
    assert.equal(build.status, "error");
    assert.match(build.summary, /base build \(make tinyconfig\) failed.*not the series' fault/s);
    const st = results[2] as StageResult<SelftestsData>;
    assert.deepEqual(st.data.tests.map((t) => [t.name, t.status]), [
      ["tcp-loopback-round-trip", "pass"],
      ["so-busy-poll-setsockopt", "pass"],
      ["bpf-setsockopt-so-busy-poll", "skip"],
    ]);
    assert.deepEqual(readdirSync(join(dataDir, "work", "worktrees")).filter((n) => !n.startsWith(".")), []);
  });
});
