/**
 * `npm run bench:web`: the dashboard against a big store, measured over real HTTP.
 *
 * Two stores are filled through the store's own repositories (saveSeries, createFlowIfAbsent,
 * saveFlowResults, setFlowStatus) from a real recorded kernel A/B flow
 * (test/data/kernel-ab/feature-flow.json: its stage results, 72 netperf runs and analysis):
 * a small one (200 series versions) as the baseline of this same run, and a big one
 * (20,000 series versions, every second one a v2 of the one before, 10 bench cells a flow:
 * 200,000 cells, 1.44 M runs). `patchbench web`'s server (serveWeb) answers on 127.0.0.1; every
 * page kind is requested in turn and timed from the request to the last byte of the answer.
 * Printed: p50 / p99 and bytes per page kind on each store, the big/small ratio, and whether
 * the list and series pages meet p99 ≤ 100 ms.
 *
 *   npm run bench:web [-- --series 20000 --requests 100 --store sqlite|postgres --dir KEEP]
 *
 * Filling the big store takes about 20 minutes here; with --dir the SQLite stores are kept and a
 * later run reuses them (the generation is seeded: a kept store holds what a fresh one would).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Series } from "../src/domain/series.ts";
import { silentLogger } from "../src/lib/logger.ts";
import { createFlowIfAbsent, getFlow, setFlowStatus } from "../src/store/flow-repository.ts";
import { type Db, openStore } from "../src/store/open-store.ts";
import { saveFlowResults } from "../src/store/result-repository.ts";
import { saveSeries } from "../src/store/series-repository.ts";
import { buildFlowReport, resultsOfStoredFlow, samplesOfStoredFlow, type StoredFlow } from "../src/workers/build-flow-report.ts";
import { serveWeb } from "../src/workers/serve-web.ts";
import { scratchPostgres } from "../test/helpers/postgres.ts";

const { values: args } = parseArgs({
  options: {
    series: { type: "string", default: "20000" },
    requests: { type: "string", default: "100" },
    store: { type: "string", default: "sqlite" },
    // Keep the generated SQLite stores here and reuse them (filling what is missing); default: a temporary folder.
    dir: { type: "string" },
  },
});
const BIG = Number(args.series);
const SMALL = 200;
const REQUESTS = Number(args.requests);
const CELLS_PER_FLOW = 10;
const TREES = ["bpf-next", "net-next"];
const WORDS = ["tcp", "bpf", "splice", "busy-poll", "sockmap", "xdp", "veth", "gro", "napi", "skb", "rcu", "cgroup", "verifier", "jit", "netkit", "mptcp"];

const recorded = JSON.parse(readFileSync(join(import.meta.dirname, "..", "test", "data", "kernel-ab", "feature-flow.json"), "utf8")) as StoredFlow;
const samples = samplesOfStoredFlow(recorded);
const results = resultsOfStoredFlow(recorded);
const { analysis } = buildFlowReport({ flowId: recorded.flowId, series: recorded.series, results, errors: [], generatedAt: recorded.generatedAt });
const measured = analysis?.cells ?? [];
if (measured.length === 0) throw new Error("the recorded flow has no analysed cells");

/** Deterministic pseudo-random (mulberry32): the same stores every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n series versions with one finished flow each: the recorded flow's results, samples and cells. */
async function fill(db: Db, n: number): Promise<{ series: string[]; flows: string[]; authors: string[]; words: string[]; added: number }> {
  const rand = rng(7);
  const authors = Array.from({ length: Math.max(10, Math.round(n / 40)) }, (_, i) => `dev${i}@example.org`);
  const out = { series: [] as string[], flows: [] as string[], authors, words: WORDS, added: 0 };
  for (let i = 0; i < n; i++) {
    const v2 = i % 2 === 1;
    const id = `series-bench-${i}`;
    const title = `${WORDS[Math.floor(rand() * WORDS.length)]}: ${WORDS[Math.floor(rand() * WORDS.length)]} ${WORDS[Math.floor(rand() * WORDS.length)]} change ${Math.floor(i / 2)}`;
    const author = authors[Math.floor(rand() * authors.length)]!;
    const series: Series = {
      ...recorded.series,
      id,
      title,
      tree: TREES[i % TREES.length]!,
      version: v2 ? 2 : 1,
      previousVersion: v2 ? `series-bench-${i - 1}` : null,
      author: `Dev ${author.split("@")[0]} <${author}>`,
      cover: { messageId: `cover.${i}@example.org`, subject: `[PATCH ${v2 ? "v2 " : ""}0/1] ${title}` },
      patches: recorded.series.patches.map((p) => ({ ...p, messageId: `${i}.${p.index}@example.org`, subject: `[PATCH ${v2 ? "v2 " : ""}${p.index}/1] ${title}` })),
    };
    const flowId = `flow-bench-${i}`;
    out.series.push(id);
    out.flows.push(flowId);
    // Drawn whether or not it is stored already, so a kept store is filled exactly as a fresh one.
    const regress = rand() < 0.125;
    if ((await getFlow(db, flowId))?.finishedAt) continue;
    await saveSeries(db, series, new Map());
    await createFlowIfAbsent(db, { id: flowId, seriesId: id, tree: series.tree!, base: null, plan: "{}" });
    // Ten cells a flow: the recorded ones, then copies under other sizes; about one flow in eight regresses.
    const verdicts = Array.from({ length: CELLS_PER_FLOW }, (_, k) => {
      const c = measured[k % measured.length]!;
      const key = k < measured.length ? c.key : c.key.replace(/\/\d+$/, `/${2 ** (k + 2)}`);
      const verdict = regress && k === CELLS_PER_FLOW - 1 ? "regression" : c.analysis.verdict;
      return { cell: key, verdict, data: { ...c.analysis, verdict } };
    });
    await saveFlowResults(db, flowId, { results, samples, verdicts });
    await setFlowStatus(db, flowId, regress ? "warn" : "pass", true);
    out.added++;
  }
  return out;
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

interface Timing {
  p50: number;
  p99: number;
  bytes: number;
}

async function measure(url: string, paths: () => string): Promise<Timing> {
  const ms: number[] = [];
  let bytes = 0;
  for (let i = 0; i < REQUESTS; i++) {
    const t0 = performance.now();
    const r = await fetch(`${url}${paths()}`);
    const body = await r.arrayBuffer();
    ms.push(performance.now() - t0);
    if (r.status !== 200) throw new Error(`${r.status} for ${r.url}`);
    bytes += body.byteLength;
  }
  return { p50: quantile(ms, 0.5), p99: quantile(ms, 0.99), bytes: Math.round(bytes / REQUESTS) };
}

async function openBackend(dir: string, name: string): Promise<{ db: Db; drop(): Promise<void> }> {
  if (args.store === "postgres") {
    const scratch = await scratchPostgres();
    return { db: await openStore(scratch.url), drop: scratch.drop };
  }
  return { db: await openStore(join(dir, `${name}.sqlite`)), drop: async () => undefined };
}

async function benchStore(dir: string, name: string, n: number): Promise<Map<string, Timing>> {
  const t0 = Date.now();
  const store = await openBackend(dir, name);
  const filled = await fill(store.db, n);
  console.log(`${name}: ${n} series versions, ${n * CELLS_PER_FLOW} cells, ${n * samples.length} runs; ${filled.added} versions written by this run in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  const server = await serveWeb({ db: store.db, trees: TREES, log: silentLogger(), host: "127.0.0.1", port: 0 });
  const rand = rng(11);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const pages: [string, () => string][] = [
    ["list, first page", () => "/series"],
    ["list, deep page", () => `/series?offset=${Math.floor(rand() * (n - 50))}`],
    ["list, search", () => `/series?q=${encodeURIComponent(pick(filled.words))}`],
    ["list, author", () => `/series?author=${encodeURIComponent(pick(filled.authors))}`],
    ["list, has-regression", () => "/series?has-regression=yes"],
    ["list, tree + state", () => `/series?tree=${pick(TREES)}&state=finished`],
    ["series page", () => `/series/${pick(filled.series)}`],
    ["series API", () => `/api/series/${pick(filled.series)}`],
    ["run page", () => `/runs/${pick(filled.flows)}`],
    ["run samples CSV", () => `/api/runs/${pick(filled.flows)}/samples.csv`],
  ];
  const out = new Map<string, Timing>();
  try {
    for (const [label, path] of pages) {
      await measure(server.url, path); // warm: the first answers pay for cold caches
      out.set(label, await measure(server.url, path));
    }
  } finally {
    await server.close();
    await store.db.destroy();
    await store.drop();
  }
  return out;
}

const dir = args.dir ?? mkdtempSync(join(tmpdir(), "pb-bench-web-"));
mkdirSync(dir, { recursive: true });
try {
  console.log(`bench:web on ${args.store}; ${REQUESTS} requests per page kind after as many to warm up; load average ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  const small = await benchStore(dir, "small", SMALL);
  const big = await benchStore(dir, "big", BIG);
  const f = (x: number) => `${x.toFixed(1)} ms`;
  console.log(`\n| page | ${SMALL} versions p50 / p99 | ${BIG} versions p50 / p99 | p99 big/small | bytes (big) |`);
  console.log("|---|---|---|---|---|");
  let goal = true;
  for (const [label, b] of big) {
    const s = small.get(label)!;
    console.log(`| ${label} | ${f(s.p50)} / ${f(s.p99)} | ${f(b.p50)} / ${f(b.p99)} | ${(b.p99 / s.p99).toFixed(2)}x | ${b.bytes} |`);
    if ((label.startsWith("list") || label.startsWith("series")) && b.p99 > 100) goal = false;
  }
  console.log(`\nGoal p99 ≤ 100 ms for the list and series pages at ${BIG} versions: ${goal ? "met" : "NOT met"}; load average now ${loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  process.exitCode = goal ? 0 : 1;
} finally {
  if (!args.dir) rmSync(dir, { recursive: true, force: true });
}
