/**
 * Fault injection (`npm run bench:faults`): nothing lost, nothing twice.
 *
 * Each row runs the real service (`patchbench start`, orchestrator and local
 * runner in one process) on a scratch series delivered into a maildir, with
 * a real redis-server (no persistence, the harder case), a real SMTP server
 * (mail.dryRun false, mail.quiet false: every report is mailed), and one
 * fault injected mid-flow. Then it waits for the flow to finish and counts:
 *   - reports posted: messages the SMTP server received for the flow
 *     (X-Patchbench-Report header), measured at the server;
 *   - flows lost: the one series delivered, unless a flow of it finished
 *     (a report went out) by the end.
 * Prints only measured numbers; exits 1 when a fault ends anywhere but
 * "reports posted: exactly 1, flows lost: 0" (or when no fault was run).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { createScratchSeries } from "../src/demo/scratch-series.ts";
import { writeDemoConfig } from "../src/demo/write-demo-config.ts";
import { splitMbox } from "../src/ingest/mail/split-mbox.ts";
import { bullConnection } from "../src/queue/redis-connection.ts";
import { openStore } from "../src/store/open-store.ts";
import { freePort } from "../test/helpers/redis-server.ts";
import { CLI } from "../test/helpers/run-cli.ts";
import { startTestSmtp, type TestSmtp } from "../test/helpers/smtp-server.ts";

const FLOW_TIMEOUT_MS = Number(process.env.BENCH_FAULTS_TIMEOUT_SEC ?? 300) * 1000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T | undefined> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) return undefined;
    await sleep(250);
  }
}

/** A redis-server on a fixed port that can be killed and started again (no persistence: a restart loses everything). */
async function startRedis(port: number, dir: string): Promise<{ stop(): Promise<void>; start(): Promise<void> }> {
  let child: ChildProcess | null = null;
  const state = {
    async start() {
      child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--maxmemory-policy", "noeviction"], { stdio: "ignore" });
      const ok = await until(async () => {
        const c = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        c.on("error", () => {});
        try {
          await c.connect();
          await c.ping();
          return true;
        } catch {
          return undefined;
        } finally {
          c.disconnect();
        }
      }, 10_000);
      if (!ok) throw new Error("redis-server did not start");
    },
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null) return;
      c.kill("SIGKILL");
      await new Promise((r) => c.once("exit", r));
    },
  };
  await state.start();
  return state;
}

interface Ctx {
  redisUrl: string;
  redisPort: number;
  redis: { stop(): Promise<void>; start(): Promise<void> };
  smtp: TestSmtp;
  pool: Queue;
  dir: string;
  /** (Re)start the service; the previous one must be gone. */
  startService(): ChildProcess;
  service(): ChildProcess;
}

interface Fault {
  name: string;
  /** Extra config edits (global YAML text) before the service starts. */
  editGlobal?: (yaml: string, dir: string) => string;
  /** Runs once the series was delivered; returns a note on what was done. */
  inject(ctx: Ctx): Promise<string>;
  cleanup?(dir: string): void;
}

const benchActive = (ctx: Ctx) => until(async () => ((await ctx.pool.getActive()).some((j) => j.name === "bench") ? true : undefined), 120_000);

const FAULTS: Fault[] = [
  {
    name: "kill -9 runner mid-stage",
    async inject(ctx) {
      if (!(await benchActive(ctx))) return "bench stage never started";
      await sleep(2000);
      const svc = ctx.service();
      svc.kill("SIGKILL");
      await new Promise((r) => svc.once("exit", r));
      ctx.startService();
      return "service (runner + orchestrator) SIGKILLed during the bench stage, started again";
    },
  },
  {
    name: "restart Redis (no persistence)",
    async inject(ctx) {
      if (!(await benchActive(ctx))) return "bench stage never started";
      await ctx.redis.stop();
      await sleep(3000);
      await ctx.redis.start();
      return "redis-server SIGKILLed during the bench stage, empty after 3 s";
    },
  },
  {
    name: "flush Redis",
    async inject(ctx) {
      if (!(await benchActive(ctx))) return "bench stage never started";
      const c = new Redis({ port: ctx.redisPort });
      await c.flushall();
      c.disconnect();
      return "FLUSHALL during the bench stage";
    },
  },
  {
    name: "SMTP down for 60 s",
    async inject(ctx) {
      await ctx.smtp.stop();
      await sleep(60_000);
      await ctx.smtp.start();
      return "SMTP server stopped from delivery for 60 s (over the report)";
    },
  },
  {
    name: "artifacts disk full",
    editGlobal(yaml, dir) {
      const work = join(dir, "small-work");
      mkdirSync(work, { recursive: true });
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", work]);
      return yaml.replace(/^ {2}workDir: null$/m, `  workDir: ${JSON.stringify(work)}`);
    },
    async inject(ctx) {
      const work = join(ctx.dir, "small-work");
      const fill = join(work, "filler");
      // Fill it: write until ENOSPC.
      const fd = openSync(fill, "w");
      const chunk = Buffer.alloc(256 * 1024);
      let bytes = 0;
      try {
        for (;;) bytes += execWrite(fd, chunk);
      } catch {
        /* ENOSPC */
      } finally {
        closeSync(fd);
      }
      return `work dir on a 4 MiB tmpfs, filled with ${(bytes / 1048576).toFixed(1)} MiB before the series arrived`;
    },
    cleanup(dir) {
      try {
        // Lazy: a process of the flow may still have a file open there.
        execFileSync("umount", ["-l", join(dir, "small-work")]);
      } catch {
        /* not mounted */
      }
    },
  },
];

function execWrite(fd: number, b: Buffer): number {
  return writeSync(fd, b);
}

interface Row {
  fault: string;
  reports: number;
  lost: number;
  seconds: number;
  status: string;
  note: string;
}

async function runFault(f: Fault): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), "pb-faults-"));
  const redisPort = await freePort();
  mkdirSync(join(dir, "redis"));
  const redis = await startRedis(redisPort, join(dir, "redis"));
  const smtp = await startTestSmtp();
  const pool = new Queue("pool-local", { connection: bullConnection({ host: "127.0.0.1", port: redisPort }), prefix: "patchbench" });
  // Redis goes away on purpose in some rows: the watcher's own connection errors are expected.
  pool.on("error", () => {});
  let svc: ChildProcess | null = null;
  try {
    const s = await createScratchSeries(join(dir, "s"));
    const maildir = join(dir, "maildir");
    const configDir = writeDemoConfig({
      dir,
      treePath: s.treeDir,
      maildir,
      bench: { sizes: [1], topologies: ["loopback"], rounds: 4, maxRounds: 4, runsPerRound: 1, durationSec: 2 },
      pollSec: 1,
    });
    const globalFile = join(configDir, "patchbench.yaml");
    let yaml = readFileSync(globalFile, "utf8")
      .replace(/^ {2}reconcileSec: 300$/m, "  reconcileSec: 5")
      .replace(/^ {2}dryRun: true$/m, "  dryRun: false\n  quiet: false")
      .replace(/^ {4}port: 25$/m, `    port: ${smtp.port}`);
    if (f.editGlobal) yaml = f.editGlobal(yaml, dir);
    writeFileSync(globalFile, yaml);
    const log = join(dir, "service.log");
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    const startService = () => {
      const fd = openSync(log, "a");
      svc = spawn(process.execPath, [CLI, "--redis-url", redisUrl, "start"], {
        env: { ...process.env, PATCHBENCH_CONFIG: configDir, PATCHBENCH_DATA_DIR: join(dir, "data"), PATCHBENCH_LOG_LEVEL: "info" },
        stdio: ["ignore", fd, fd],
      });
      return svc;
    };
    const ctx: Ctx = { redisUrl, redisPort, redis, smtp, pool, dir, startService, service: () => svc! };
    startService();
    const t0 = Date.now();
    const injecting = f.name === "artifacts disk full" ? await f.inject(ctx) : null;
    for (const [i, m] of splitMbox(readFileSync(s.mboxPath)).messages.entries()) writeFileSync(join(maildir, "new", `${i}.mail`), m.raw);
    const note = injecting ?? (await f.inject(ctx));
    const storePath = join(dir, "data", "patchbench.sqlite");
    const unfinished = async () => {
      if (!existsSync(storePath)) return { series: 0, done: 0, status: "" };
      const db = await openStore(storePath);
      try {
        const series = (await db.selectFrom("series").select("id").execute()).length;
        const flows = await db.selectFrom("flows").selectAll().execute();
        const finished = flows.filter((x) => x.finished_at !== null);
        return { series, done: new Set(finished.map((x) => x.series_id)).size, status: finished.map((x) => x.status).join(",") };
      } finally {
        await db.destroy();
      }
    };
    const finished = await until(async () => {
      const u = await unfinished();
      return u.series > 0 && u.done === u.series && smtp.received.length > 0 ? u : undefined;
    }, FLOW_TIMEOUT_MS);
    const seconds = (Date.now() - t0) / 1000;
    // Let duplicates show up: the drain runs every 30 s, the reconcile every 5 s.
    await sleep(35_000);
    const end = await unfinished();
    const reports = smtp.received.filter((m) => /^X-Patchbench-Report: /m.test(m.raw.toString("utf8"))).length;
    if (reports !== 1 || end.done !== 1) process.stderr.write(`  service log tail:\n${readFileSync(log, "utf8").split("\n").slice(-25).join("\n")}\n`);
    // One series was delivered: lost unless a flow of it finished.
    return { fault: f.name, reports, lost: 1 - end.done, seconds: finished ? seconds : Number.NaN, status: end.status || "none", note };
  } finally {
    const p = svc as ChildProcess | null;
    if (p && p.exitCode === null) {
      p.kill("SIGTERM");
      await Promise.race([new Promise((r) => p.once("exit", r)), sleep(30_000)]);
      if (p.exitCode === null) p.kill("SIGKILL");
    }
    await pool.close();
    await smtp.stop();
    await redis.stop();
    f.cleanup?.(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

const only = process.argv.slice(2);
const rows: Row[] = [];
for (const f of FAULTS) {
  if (only.length && !only.some((o) => f.name.includes(o))) continue;
  process.stderr.write(`running: ${f.name}\n`);
  const r = await runFault(f);
  process.stderr.write(`  ${JSON.stringify(r)}\n`);
  rows.push(r);
}
console.log("| fault | reports posted | flows lost | report after | flow status | what was done |");
console.log("|---|---|---|---|---|---|");
for (const r of rows) {
  const posted = r.reports === 1 ? "exactly 1" : String(r.reports);
  console.log(`| ${r.fault} | ${posted} | ${r.lost} | ${Number.isNaN(r.seconds) ? "never" : `${r.seconds.toFixed(0)} s`} | ${r.status} | ${r.note} |`);
}
// The table is the figures; the exit status is the verdict, so CI and scripts notice a fault that lost or doubled a report.
const bad = rows.filter((r) => r.reports !== 1 || r.lost !== 0);
if (rows.length === 0) process.stderr.write(`bench:faults: no fault matches ${only.join(" ")}\n`);
if (bad.length > 0) process.stderr.write(`bench:faults: ${bad.length} of ${rows.length} faults not at "reports posted: exactly 1, flows lost: 0": ${bad.map((r) => r.fault).join(", ")}\n`);
if (rows.length === 0 || bad.length > 0) process.exitCode = 1;
