import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { FlowProducer, Job, Queue } from "bullmq";
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

  test("takes a flow's jobs, stores apply/build/selftests results, leaves no worktree", async () => {
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
    writeFileSync(join(configDir, "patchbench.yaml"), "redis:\n  prefix: pbtest\ntrees: [scratch]\ndefaultTree: scratch\n");
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
    process.kill(pid, "SIGTERM");
    const exit = await agent;
    await orchestrator.close();
    assert.equal(exit.code, 0, exit.stderr);

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
