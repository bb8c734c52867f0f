import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Series } from "../../src/domain/series.ts";
import { createScratchSeries } from "../../src/demo/scratch-series.ts";
import { createFlowIfAbsent, getFlow, setFlowStatus } from "../../src/store/flow-repository.ts";
import { openStore } from "../../src/store/open-store.ts";
import { saveFlowResults } from "../../src/store/result-repository.ts";
import { saveSeries } from "../../src/store/series-repository.ts";
import { buildFlowReport, resultsOfStoredFlow, samplesOfStoredFlow, type StoredFlow } from "../../src/workers/build-flow-report.ts";
import { PROJECT_ROOT } from "./fixtures.ts";
import { exitOf, runCli, spawnCli } from "./run-cli.ts";

export interface WebStore {
  dataDir: string;
  /** A scratch series reviewed by the CLI (`--stages apply`) through Redis and the queue. */
  applied: { seriesId: string; flowId: string };
  /**
   * The recorded kernel A/B flow (test/data/kernel-ab/feature-flow.json), stored through the
   * repositories, and its v2: the same runs with the candidate 20% slower in one cell (`slowCell`).
   */
  bench: { seriesId: string; flowId: string; cells: number; samples: number; abSamples: number; v2: string; v2FlowId: string; slowCell: string };
  /** A series whose subject and author carry HTML and script. */
  hostile: Series;
}

/**
 * A store as the service leaves it: one flow reviewed for real by the CLI, one real kernel
 * A/B flow put back through the same repositories the report job writes with, and a hostile
 * series as the mail poller would save it.
 */
export async function prepareWebStore(dir: string, redisUrl: string): Promise<WebStore> {
  const s = await createScratchSeries(join(dir, "scratch"));
  const dataDir = join(dir, "data");
  const review = await runCli(["--data-dir", dataDir, "--redis-url", redisUrl, "review", s.mboxPath, "--tree-path", s.treeDir, "--stages", "apply", "--json"]);
  if (review.code !== 0) throw new Error(`review failed: ${review.stderr}`);
  const flowId = /flow queued: (\S+)/.exec(review.stderr)?.[1];
  if (!flowId) throw new Error(`no flow in: ${review.stderr}`);

  const recorded = JSON.parse(readFileSync(join(PROJECT_ROOT, "test", "data", "kernel-ab", "feature-flow.json"), "utf8")) as StoredFlow;
  const samples = samplesOfStoredFlow(recorded);
  const results = resultsOfStoredFlow(recorded);
  // The report job's own path: analysis of the stage results, verdicts stored with the whole analysis.
  const { report, analysis } = buildFlowReport({ flowId: recorded.flowId, series: recorded.series, results, errors: [], generatedAt: recorded.generatedAt });
  // Both versions came through netdev, as the list's mail would say (List-Id).
  const v1: Series = { ...recorded.series, lists: ["netdev.vger.kernel.org"] };
  const v2: Series = { ...v1, id: `${recorded.series.id}-v2`, version: 2, previousVersion: recorded.series.id };
  // v2 measured as v1 but for one cell where the candidate lost a fifth: "Since v1" has something to say.
  const slowCell = recorded.samples[0]!.cell;
  const v2Flow: StoredFlow = {
    ...recorded,
    flowId: `${recorded.flowId}2`,
    series: v2,
    samples: recorded.samples.map((x) => (x.cell === slowCell && x.variant === "candidate" && x.throughput !== null ? { ...x, flow_id: `${recorded.flowId}2`, throughput: x.throughput * 0.8 } : { ...x, flow_id: `${recorded.flowId}2` })),
  };
  const v2Results = resultsOfStoredFlow(v2Flow);
  const v2Built = buildFlowReport({ flowId: v2Flow.flowId, series: v2, results: v2Results, errors: [], generatedAt: recorded.generatedAt });
  const hostile: Series = {
    ...recorded.series,
    id: "series-hostile",
    title: `<script>document.title="pwned"</script><img src=x onerror="document.title='pwned'">`,
    author: `"><svg onload="document.title='pwned'"> <evil@example.org>`,
    cover: { messageId: `x"><script>document.title='pwned'</script>@example.org`, subject: "<iframe src=javascript:alert(1)>" },
    previousVersion: null,
  };
  const db = await openStore(join(dataDir, "patchbench.sqlite"));
  let appliedSeries: string;
  try {
    const applied = await getFlow(db, flowId);
    if (!applied) throw new Error(`flow ${flowId} not stored`);
    appliedSeries = applied.seriesId;
    await saveSeries(db, v1, new Map());
    await createFlowIfAbsent(db, { id: recorded.flowId, seriesId: recorded.series.id, tree: "bpf-next", base: null, plan: "{}" });
    await saveFlowResults(db, recorded.flowId, {
      results,
      samples,
      verdicts: (analysis?.cells ?? []).map((c) => ({ cell: c.key, verdict: c.analysis.verdict, data: c.analysis })),
    });
    await setFlowStatus(db, recorded.flowId, report.status, true);
    await saveSeries(db, v2, new Map());
    await createFlowIfAbsent(db, { id: v2Flow.flowId, seriesId: v2.id, tree: "bpf-next", base: null, plan: "{}" });
    await saveFlowResults(db, v2Flow.flowId, {
      results: v2Results,
      samples: samplesOfStoredFlow(v2Flow),
      verdicts: (v2Built.analysis?.cells ?? []).map((c) => ({ cell: c.key, verdict: c.analysis.verdict, data: c.analysis })),
    });
    await setFlowStatus(db, v2Flow.flowId, v2Built.report.status, true);
    await saveSeries(db, hostile, new Map());
  } finally {
    await db.destroy();
  }
  return {
    dataDir,
    applied: { seriesId: appliedSeries, flowId },
    bench: {
      seriesId: recorded.series.id,
      flowId: recorded.flowId,
      cells: analysis?.cells.length ?? 0,
      samples: samples.length,
      // Runs of A and B (the first two variants); the arm's are not in the cells' run charts.
      abSamples: samples.filter((x) => report.bench?.variants.some((v) => v.name === x.variant)).length,
      v2: v2.id,
      v2FlowId: v2Flow.flowId,
      slowCell,
    },
    hostile,
  };
}

/** `patchbench web` on a free port against the data dir and the queue's Redis; resolves once it listens. */
export async function startWebCli(dataDir: string, redisUrl: string, env: NodeJS.ProcessEnv = {}): Promise<{ url: string; stop(): Promise<number | null> }> {
  const child = spawnCli(["--data-dir", dataDir, "--redis-url", redisUrl, "web", "--port", "0"], env);
  const lines = createInterface({ input: child.stdout! });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    lines.on("line", (l) => {
      const m = /^dashboard: (\S+)$/.exec(l);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`patchbench web exited ${code}: ${stderr}`)));
  });
  return {
    url,
    async stop() {
      const done = exitOf(child);
      child.kill("SIGTERM");
      return (await done).code;
    },
  };
}
