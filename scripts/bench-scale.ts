/**
 * The queue, store and orchestrators under load (`npm run bench:scale`).
 *
 * For each runner count (1, 10, 50) it starts, fresh: a real redis-server, a
 * scratch PostgreSQL database, a real public-inbox (V2, public-inbox-httpd),
 * two real orchestrators (`patchbench start --no-runner`, one store, one
 * Redis, the same public-inbox-git source: one polls it, the other waits on
 * the lease) and the runner agents: BullMQ workers on the tree's pool with a
 * stand-in stage body that sleeps the stage time (scripts/bench-scale-runner.ts),
 * at most 10 workers per process (a 2-vCPU box does not hold 50 Node runtimes).
 * Series (one single-patch mail each) are delivered with public-inbox-mda at
 * a steady 10,000 flows/day, time compressed by SPEEDUP (rate up, stage time
 * down by the same factor, so the runners are as busy as at the real rate).
 * Prints only figures measured in this run; exits 1 when a series lost its
 * flow or report or got two.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { ORCHESTRATOR_QUEUE, poolQueue } from "../src/queue/queue-names.ts";
import { bullConnection } from "../src/queue/redis-connection.ts";
import { type Db, openStore } from "../src/store/open-store.ts";
import { PROJECT_ROOT, readFixture } from "../test/helpers/fixtures.ts";
import { scratchPostgres } from "../test/helpers/postgres.ts";
import { startTestInbox } from "../test/helpers/public-inbox.ts";
import { startTestRedis } from "../test/helpers/redis-server.ts";
import { CLI } from "../test/helpers/run-cli.ts";
import { countFlows, cpuSeconds, percentile, readFlowTimings, redisKeyBytes, redisUsedMemory, storeBytes } from "./bench-scale-measure.ts";

const RUNNERS = (process.env.BENCH_RUNNERS ?? "1,10,50").split(",").map(Number);
const FLOWS = Number(process.env.BENCH_FLOWS ?? 120);
const SPEEDUP = Number(process.env.BENCH_SPEEDUP ?? 6);
const FLOWS_PER_DAY = 10_000;
/** A stage's time at the real rate: apply with its checks, then host-probe selftests, a few seconds each. */
const REAL_STAGE_MS = Number(process.env.BENCH_STAGE_MS ?? 3000);
const STAGES = ["apply", "selftests"] as const;
const POOL = "local";
const PREFIX = "patchbench";
const POLL_SEC = 10;
const WORKERS_PER_PROCESS = 10;
const IDLE_SEC = 15;
const stageMs = REAL_STAGE_MS / SPEEDUP;
const gapMs = 86_400_000 / FLOWS_PER_DAY / SPEEDUP;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** The fixture patch under a fresh Message-ID and a numbered subject: a new series each time. */
function seriesMail(base: Buffer, run: string, k: number): { id: string; raw: Buffer } {
  const id = `scale-${run}-${k}@patchbench.invalid`;
  const end = base.indexOf("\n\n");
  const head = base
    .subarray(0, end)
    .toString("latin1")
    .replace(/^Message-ID:.*$/im, `Message-ID: <${id}>`)
    .replace(/^(Subject:.*)$/im, `$1 (scale ${run} ${k})`);
  return { id, raw: Buffer.concat([Buffer.from(head, "latin1"), base.subarray(end)]) };
}

function writeConfig(dir: string, inboxUrl: string): string {
  const configDir = join(dir, "config");
  mkdirSync(join(configDir, "trees"), { recursive: true });
  const tree = join(configDir, "trees", "bpf-next.yaml");
  cpSync(join(PROJECT_ROOT, "config", "trees", "bpf-next.yaml"), tree);
  writeFileSync(tree, readFileSync(tree, "utf8").replace(/^stages: .*$/m, `stages: [${STAGES.join(", ")}]`));
  const source = ["sources:", "  - kind: public-inbox-git", `    url: ${JSON.stringify(inboxUrl)}`, "    list: bpf", `    intervalSec: ${POLL_SEC}`];
  writeFileSync(join(configDir, "patchbench.yaml"), [...source, "trees: [bpf-next]", ""].join("\n"));
  return configDir;
}

/** Output into a log file; stdout piped instead when the caller waits for a line on it. */
function spawnLogged(argv: string[], log: string, env: NodeJS.ProcessEnv, pipeStdout = false): ChildProcess {
  const fd = openSync(log, "a");
  const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, stdio: ["ignore", pipeStdout ? "pipe" : fd, fd] });
  closeSync(fd);
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await Promise.race([exited, sleep(30_000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

interface Row {
  runners: number;
  processes: number;
  flows: number;
  stagePickup: number[];
  reportPickup: number[];
  overhead: number[];
  redisPerK: number;
  eventsPerK: number;
  storePerK: number;
  cpuPerKMails: number;
  idleCpuPerMin: number;
  lost: number;
  doubled: number;
  incomplete: number;
  seconds: number;
  /** The box's 5-minute load average as the row ended: how much else was running (shared VM). */
  load: number;
}

async function runScale(runners: number): Promise<Row> {
  const started = Date.now();
  const [redis, pg, inbox] = await Promise.all([startTestRedis(), scratchPostgres(), startTestInbox({ list: "bpf" })]);
  const dir = mkdtempSync(join(tmpdir(), "pb-bench-scale-"));
  const children: ChildProcess[] = [];
  const client = new Redis({ port: redis.port, host: "127.0.0.1" });
  const connection = bullConnection({ host: "127.0.0.1", port: redis.port });
  const pool = new Queue(poolQueue(POOL), { connection, prefix: PREFIX });
  const orchestratorQueue = new Queue(ORCHESTRATOR_QUEUE, { connection, prefix: PREFIX });
  let db: Db | null = null;
  try {
    const base = readFixture("mail", "bpf-sysctl-get-name", "v1", "00-single-patch.eml");
    // A list has history: the first poll records where the epoch is, and follows from there.
    await inbox.inject(base);
    const configDir = writeConfig(dir, inbox.url);
    const processes = Math.ceil(runners / WORKERS_PER_PROCESS);
    const ready: Promise<void>[] = [];
    for (let p = 0; p < processes; p++) {
      const n = Math.min(WORKERS_PER_PROCESS, runners - p * WORKERS_PER_PROCESS);
      const argv = [process.execPath, "--import", "tsx", join(PROJECT_ROOT, "scripts", "bench-scale-runner.ts"), String(redis.port), PREFIX, POOL, String(n), String(stageMs)];
      const child = spawnLogged(argv, join(dir, `runner-${p}.log`), {}, true);
      children.push(child);
      ready.push(new Promise((resolve, reject) => {
        child.stdout?.once("data", () => resolve());
        child.once("exit", (code) => reject(new Error(`stand-in runner exited (${code}); see its log`)));
      }));
    }
    await Promise.all(ready);
    const orchestrators = ["a", "b"].map((name) => {
      const env = { PATCHBENCH_CONFIG: configDir, PATCHBENCH_DATA_DIR: join(dir, `data-${name}`), PATCHBENCH_STORE_URL: pg.url, REDIS_URL: redis.url, PATCHBENCH_LOG_LEVEL: "info" };
      const child = spawnLogged([process.execPath, CLI, "start", "--no-runner"], join(dir, `orchestrator-${name}.log`), env);
      children.push(child);
      return child;
    });
    const store = await until("the store", async () => openStore(pg.url).catch(() => undefined), 60_000);
    db = store;
    await until("the first poll", async () => (await store.selectFrom("cursors").select("key").where("key", "=", "epoch-0").executeTakeFirst()) ?? undefined, 90_000);
    const orchestratorCpu = () => orchestrators.reduce((n, c) => n + cpuSeconds(c.pid!), 0);
    // What the two orchestrators cost doing nothing (leases, polls of an unchanged list), the baseline.
    const idle0 = orchestratorCpu();
    await sleep(IDLE_SEC * 1000);
    const idleCpuPerMin = ((orchestratorCpu() - idle0) / IDLE_SEC) * 60;
    // BullMQ's per-queue event streams are capped (~10,000 entries): told apart, as they stop growing.
    const events = () => redisKeyBytes(client, `${PREFIX}:*:events`);
    const redis0 = await redisUsedMemory(client);
    const events0 = await events();
    const store0 = await storeBytes(store);
    const cpu0 = orchestratorCpu();
    const run = String(runners);
    const ids: string[] = [];
    const t0 = Date.now();
    // A steady rate on an absolute schedule: a slow delivery does not push the later ones back.
    for (let k = 0; k < FLOWS; k++) {
      await sleep(t0 + k * gapMs - Date.now());
      const m = seriesMail(base, run, k);
      await inbox.inject(m.raw);
      ids.push(m.id);
    }
    const injectedFor = (Date.now() - t0) / 1000;
    await until("every flow to finish", async () => {
      const n = await store.selectFrom("flows").select((e) => e.fn.countAll<number>().as("n")).where("finished_at", "is not", null).executeTakeFirstOrThrow();
      return Number(n.n) >= FLOWS ? true : undefined;
    }, 10 * 60_000 + FLOWS * gapMs);
    const cpu = orchestratorCpu() - cpu0 - (idleCpuPerMin / 60) * ((Date.now() - t0) / 1000);
    // Room for a late duplicate (a second poll of the same mails, a report run twice).
    await sleep(POLL_SEC * 1000);
    const count = await countFlows(store, ids);
    const eventsPerK = ((await events()) - events0) / count.flowIds.length;
    const redisPerK = ((await redisUsedMemory(client)) - redis0) / count.flowIds.length - eventsPerK;
    const storePerK = ((await storeBytes(store)) - store0) / count.flowIds.length;
    const t = await readFlowTimings({ pool, orchestrator: orchestratorQueue, flowIds: count.flowIds, stages: STAGES });
    process.stderr.write(`  ${runners} runners: ${FLOWS} series delivered in ${injectedFor.toFixed(0)} s\n`);
    return {
      runners,
      processes,
      flows: count.flowIds.length,
      stagePickup: t.stagePickupMs,
      reportPickup: t.reportPickupMs,
      overhead: t.overheadMs,
      redisPerK: redisPerK * 1000,
      eventsPerK: eventsPerK * 1000,
      storePerK: storePerK * 1000,
      cpuPerKMails: (cpu / ids.length) * 1000,
      idleCpuPerMin,
      lost: count.lost,
      doubled: count.doubled,
      incomplete: t.incomplete,
      seconds: (Date.now() - started) / 1000,
      load: loadavg()[1]!,
    };
  } catch (e) {
    for (const log of ["orchestrator-a.log", "orchestrator-b.log", "runner-0.log"]) {
      const text = readFileSync(join(dir, log), { encoding: "utf8", flag: "a+" });
      process.stderr.write(`  ${log} tail:\n${text.split("\n").slice(-15).join("\n")}\n`);
    }
    throw e;
  } finally {
    await Promise.all(children.map(stop));
    await db?.destroy();
    client.disconnect();
    await Promise.all([pool.close(), orchestratorQueue.close()]);
    await Promise.all([redis.stop(), pg.drop(), inbox.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

const ms = (x: number) => (Number.isNaN(x) ? "–" : `${x.toFixed(0)} ms`);
const mib = (x: number) => `${(x / 1048576).toFixed(1)} MiB`;

// Build the CLI bundle once, before two orchestrators start at the same moment.
spawnSync(process.execPath, [CLI, "--version"], { stdio: "ignore" });
const began = Date.now();
const rows: Row[] = [];
for (const n of RUNNERS) {
  process.stderr.write(`running: ${n} runner agents\n`);
  rows.push(await runScale(n));
}
console.log(
  `${FLOWS} single-patch series per row through a real public-inbox (git epochs, polled every ${POLL_SEC} s) at ${FLOWS_PER_DAY.toLocaleString("en")} flows/day, time compressed ×${SPEEDUP} ` +
    `(one series every ${(gapMs / 1000).toFixed(2)} s; stages ${STAGES.join(" → ")} → report, each stage a stand-in sleeping ${stageMs.toFixed(0)} ms for ${REAL_STAGE_MS / 1000} s); ` +
    `real Redis, PostgreSQL, two orchestrators; runner agents are BullMQ workers (one job each) in processes of up to ${WORKERS_PER_PROCESS}`,
);
console.log("| runners (processes) | flows | enqueue → stage start p50 / p99 | last stage → report start p99 | flow overhead p50 / p99 | Redis per 1,000 flows (+ capped event log) | store per 1,000 flows | orchestrator CPU per 1,000 mails | lost | doubled |");
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const r of rows) {
  console.log(
    `| ${r.runners} (${r.processes}) | ${r.flows} | ${ms(percentile(r.stagePickup, 0.5))} / ${ms(percentile(r.stagePickup, 0.99))} | ${ms(percentile(r.reportPickup, 0.99))} | ` +
      `${ms(percentile(r.overhead, 0.5))} / ${ms(percentile(r.overhead, 0.99))} | ${mib(r.redisPerK)} (+ ${mib(r.eventsPerK)}) | ${mib(r.storePerK)} | ${r.cpuPerKMails.toFixed(1)} s | ${r.lost} | ${r.doubled} |`,
  );
}
for (const r of rows) {
  process.stdout.write(
    `${r.runners} runners: ${r.stagePickup.length} stage starts, idle orchestrators ${r.idleCpuPerMin.toFixed(2)} CPU-s/min (subtracted), ${r.incomplete} flows with jobs not found, row took ${r.seconds.toFixed(0)} s, load average ${r.load.toFixed(1)}\n`,
  );
}
const top = rows.find((r) => r.runners === 50);
if (top) console.log(`goal p99 enqueue → stage start ≤ 50 ms at 50 runners: ${percentile(top.stagePickup, 0.99) <= 50 ? "met" : "NOT met"}`);
console.log(`whole run ${((Date.now() - began) / 60_000).toFixed(1)} min on ${readFileSync("/proc/cpuinfo", "utf8").match(/^processor/gm)?.length ?? "?"} vCPUs (shared; figures vary run to run)`);
const bad = rows.filter((r) => r.lost > 0 || r.doubled > 0 || r.incomplete > 0);
if (bad.length > 0) {
  process.stderr.write(`bench:scale: series lost or doubled at ${bad.map((r) => `${r.runners} runners`).join(", ")}\n`);
  process.exitCode = 1;
}
