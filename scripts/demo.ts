/**
 * The patchbench demo: starts the real service (`patchbench start`) on
 * embedded defaults with a maildir source, feeds it a series the demo makes
 * itself (a scratch git tree + `git format-patch --cover-letter`), and asks
 * the seed's question on this machine's kernel: does net.core.busy_read 0 vs
 * 50 change baseline TCP_RR on loopback and between two network namespaces?
 * It waits for the report, prints it, and stops the service. Every number
 * comes from the run; every sysctl the run changes is restored.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { formatDuration } from "../src/cli/describe-flow-progress.ts";
import { benchSchema } from "../src/config/schema.ts";
import { formatDemoOutput } from "../src/demo/format-demo-output.ts";
import { benchPlanOf, estimatePlanSeconds } from "../src/domain/bench-plan.ts";
import { createScratchSeries } from "../src/demo/scratch-series.ts";
import { writeDemoConfig } from "../src/demo/write-demo-config.ts";
import { splitMbox } from "../src/ingest/mail/split-mbox.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    "data-dir": { type: "string", default: ".patchbench/demo" },
    timeout: { type: "string", default: "3600" },
  },
});
const quick = values.quick === true;
const dataDir = resolve(values["data-dir"] ?? ".patchbench/demo");
const root = resolve(import.meta.dirname, "..");

function say(msg: string): void {
  process.stderr.write(`demo: ${msg}\n`);
}

rmSync(dataDir, { recursive: true, force: true });
mkdirSync(dataDir, { recursive: true });
say(`data folder ${dataDir}`);

// 1. A real series of a scratch tree.
const scratch = await createScratchSeries(join(dataDir, "scratch"));
say(`scratch tree ${scratch.treeDir} at ${scratch.baseCommit.slice(0, 12)}; series ${scratch.mboxPath}`);

// 2. A config folder: the shipped defaults, with the scratch tree, a maildir source and the demo matrix.
const maildir = join(dataDir, "maildir");
const bench = quick
  ? { sizes: [1, 1024], topologies: ["loopback", "container"], rounds: 4, maxRounds: 4, runsPerRound: 2, durationSec: 1 }
  : { sizes: [1, 1024, 16384], topologies: ["loopback", "container"], rounds: 6, maxRounds: 10, runsPerRound: 2, durationSec: 3 };
const configDir = writeDemoConfig({ dir: dataDir, treePath: scratch.treeDir, maildir, bench });
say(`config ${configDir} (matrix: TCP_RR x ${bench.sizes.join("/")} B x ${bench.topologies.join("+")}, busy_read=0 vs 50, ${bench.rounds} rounds/variant${bench.maxRounds > bench.rounds ? ` up to ${bench.maxRounds}` : ""})`);

// 3. The service, as an operator starts it.
// Its own redis-server in the data folder: nothing of the demo is left in a Redis that others use.
const env = { ...process.env, PATCHBENCH_CONFIG: configDir, PATCHBENCH_DATA_DIR: dataDir, REDIS_URL: "private", PATCHBENCH_LOG_LEVEL: process.env.PATCHBENCH_LOG_LEVEL ?? "info" };
const logPath = join(dataDir, "service.log");
const logFd = openSync(logPath, "a");
const service = spawn(process.execPath, [join(root, "bin", "patchbench.js"), "start"], { env, stdio: ["ignore", logFd, logFd] });
say(`patchbench start (pid ${service.pid}); log ${logPath}`);
let exited = false;
service.on("exit", (code) => {
  exited = true;
  if (code !== 0 && code !== null) say(`service exited with ${code}; see ${logPath}`);
});

// 4. Deliver the series into the watched maildir, one file per mail, as an MDA would.
const { messages } = splitMbox(readFileSync(scratch.mboxPath), scratch.mboxPath);
for (const [i, m] of messages.entries()) writeFileSync(join(maildir, "new", `${Date.now()}.${i}.demo`), m.raw);
say(`delivered ${messages.length} mails (cover + ${messages.length - 1} patches) into ${maildir}/new`);

// 5. Wait for the report in the outbox, saying how long the matrix should take (the planner's estimate at its base rounds).
const plan = benchPlanOf(benchSchema.parse(bench), { adaptive: bench.maxRounds > bench.rounds });
const estimateSec = estimatePlanSeconds({ ...plan, maxRounds: plan.rounds }, { settleMs: 200 });
const outbox = join(dataDir, "outbox");
const deadline = Date.now() + Number(values.timeout) * 1000;
const started = Date.now();
let eml: string | undefined;
let lastNote = 0;
while (!eml) {
  if (exited) {
    say(`the service stopped before reporting; see ${logPath}`);
    process.exit(1);
  }
  if (Date.now() > deadline) {
    say("timed out waiting for the report");
    service.kill("SIGTERM");
    process.exit(1);
  }
  if (existsSync(outbox)) eml = readdirSync(outbox).find((f) => f.endsWith(".eml"));
  if (!eml && Date.now() - lastNote > 20_000) {
    lastNote = Date.now();
    const left = estimateSec - (Date.now() - started) / 1000;
    say(`waiting for the report (${Math.round((Date.now() - started) / 1000)} s; ${left > 0 ? `about ${formatDuration(left)} left by the bench estimate` : "past the bench estimate"})`);
  }
  if (!eml) await new Promise((r) => setTimeout(r, 1000));
}
const emlPath = join(outbox, eml);
say(`report after ${Math.round((Date.now() - started) / 1000)} s`);

// 6. Stop the service cleanly.
service.kill("SIGTERM");
await new Promise((r) => (exited ? r(null) : service.once("exit", r)));
say("service stopped");

process.stdout.write(formatDemoOutput(readFileSync(emlPath, "utf8"), emlPath));
