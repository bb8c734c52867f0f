import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Redis } from "ioredis";
import { createScratchSeries } from "../../src/demo/scratch-series.ts";
import { writeDemoConfig } from "../../src/demo/write-demo-config.ts";
import { splitMbox } from "../../src/ingest/mail/split-mbox.ts";
import { killOrphanedJobProcesses } from "../../src/lib/job-processes.ts";
import { canCreateNetns } from "../../src/runner/bench/topology.ts";
import { listDeliveries } from "../../src/store/delivery-repository.ts";
import { openStore } from "../../src/store/open-store.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { CLI } from "../helpers/run-cli.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * Runner hosts: three `patchbench runner` agents, each in its own network namespace with its
 * own data dir, reach Redis over a veth link (not loopback), as runners on other machines
 * would; one orchestrator (`patchbench start --no-runner`) reads three series from a maildir.
 * Mid-stage, one runner's link is cut for 60 s and another runner is killed with SIGKILL. The
 * flows still finish with exactly one report each, and nothing is sent twice.
 */
const HOSTS = 3;
const tag = `pbrh${process.pid % 100000}`;
const nsOf = (i: number) => `${tag}-${i}`;
const hostIf = (i: number) => `${tag}h${i}`;
/** 203.0.113.0/24 (TEST-NET-3) in /30s: host side .4i+1, runner side .4i+2. */
const hostIp = (i: number) => `203.0.113.${4 * i + 1}`;
const nsIp = (i: number) => `203.0.113.${4 * i + 2}`;
const PASSWORD = randomBytes(12).toString("hex");
const ip = (...args: string[]) => execFileSync("ip", args, { stdio: "pipe" });

let redis: TestRedis | undefined;
let dir: string;
let skip: string | false = false;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "pb-hosts-"));
  const probe = await canCreateNetns(tag);
  if (!probe.ok) {
    skip = `ip netns add is not permitted here: ${probe.reason}`;
    return;
  }
  process.stderr.write(`runner-hosts-netns: services' log in ${join(dir, "services.log")}\n`);
  chmodSync(dir, 0o711);
  for (let i = 0; i < HOSTS; i++) {
    ip("netns", "add", nsOf(i));
    ip("link", "add", hostIf(i), "type", "veth", "peer", "name", `${tag}r${i}`);
    ip("link", "set", `${tag}r${i}`, "netns", nsOf(i));
    ip("addr", "add", `${hostIp(i)}/30`, "dev", hostIf(i));
    ip("link", "set", hostIf(i), "up");
    ip("-n", nsOf(i), "addr", "add", `${nsIp(i)}/30`, "dev", `${tag}r${i}`);
    ip("-n", nsOf(i), "link", "set", `${tag}r${i}`, "up");
    ip("-n", nsOf(i), "link", "set", "lo", "up");
  }
  // Listening on the hosts' side of each link as well as on loopback (the orchestrator's); Redis
  // serves clients off loopback only with a password, as a real fleet's would have.
  redis = await startTestRedis(["--bind", "127.0.0.1", ...Array.from({ length: HOSTS }, (_, i) => hostIp(i))], PASSWORD);
});
after(async () => {
  await redis?.stop();
  for (let i = 0; i < HOSTS; i++) {
    for (const args of [["link", "del", hostIf(i)], ["netns", "del", nsOf(i)]]) {
      try {
        ip(...args);
      } catch {
        // not created
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

interface Entry {
  pid: number;
  state: string;
  job: { id: string; flowId: string; stage: string } | null;
}

/** The scratch series as its own series `n`: own Message-IDs and subjects, the same patches. */
function copyOfSeries(raw: Buffer, n: number): Buffer[] {
  return splitMbox(raw).messages.map((m) =>
    Buffer.from(
      Buffer.from(m.raw)
        .toString("utf8")
        .replace(/<([^<>@\s]+)@/g, `<$1.copy${n}@`)
        .replace(/^Subject: (.*)$/gm, `Subject: $1 (copy ${n})`),
    ),
  );
}

test("three runner hosts over veth: one link cut for 60 s and one runner killed mid-stage; every flow ends with exactly one report", { timeout: 900_000 }, async (t) => {
  if (skip || !redis) return t.skip(skip || "no Redis");
  const server = redis;
  const s = await createScratchSeries(join(dir, "s"));
  const maildir = join(dir, "maildir");
  const configDir = writeDemoConfig({
    dir,
    treePath: s.treeDir,
    maildir,
    bench: { sizes: [1], topologies: ["loopback"], rounds: 2, maxRounds: 2, runsPerRound: 2, durationSec: 3 },
    pollSec: 1,
    // \`ip netns exec\` gives each runner its own /sys without the cgroup2 mount the BPF probe needs: no selftests here.
    stages: ["apply", "bench"],
  });
  // Sysctls are the machine's, not a namespace's: the sides here are netperf socket options.
  const treeFile = join(configDir, "trees", "bpf-next.yaml");
  const treeYaml = readFileSync(treeFile, "utf8")
    .replace(/^( {6}settings: )\[\{ kind: sysctl, key: net.core.busy_read, value: "0" \}\]$/m, "$1[]")
    .replace(/^( {6}settings: )\[\{ kind: sysctl, key: net.core.busy_read, value: "50" \}\]$/m, "$1[{ kind: sockopt, option: nodelay }]");
  assert.ok(!/^ {6}settings: \[\{ kind: sysctl/m.test(treeYaml), "the demo's sysctl variants were replaced");
  writeFileSync(treeFile, treeYaml);
  const globalFile = join(configDir, "patchbench.yaml");
  writeFileSync(globalFile, readFileSync(globalFile, "utf8").replace(/^runner:$/m, "runner:\n  heartbeatSec: 1\n  stalledSec: 5"));

  const logFd = openSync(join(dir, "services.log"), "a");
  /** The test's own steps, between the services' lines, for a reader of a failure. */
  const step = (what: string) => writeSync(logFd, `${JSON.stringify({ time: new Date().toISOString(), test: what })}\n`);
  // The runners share one host lock of their own (one box), not the machine's: nothing here is
  // measured against another suite, and their sockopt sides touch no sysctl.
  const env = { ...process.env, PATCHBENCH_CONFIG: configDir, PATCHBENCH_LOG_LEVEL: "info", PATCHBENCH_LOCK_DIR: join(dir, "locks") };
  const dataDir = join(dir, "orchestrator");
  const orchestrator = spawn(process.execPath, [CLI, "--data-dir", dataDir, "--redis-url", redis.url, "start", "--no-runner"], { env, stdio: ["ignore", logFd, logFd] });
  const runnerDir = (i: number) => join(dir, `host-${i}`);
  const startRunner = (i: number): ChildProcess =>
    // `ip netns exec` execs the runner: the child's pid is the runner's.
    spawn("ip", ["netns", "exec", nsOf(i), process.execPath, CLI, "--data-dir", runnerDir(i), "--redis-url", `redis://:${PASSWORD}@${hostIp(i)}:${server.port}`, "runner", "--pool", "local"], {
      env,
      stdio: ["ignore", logFd, logFd],
    });
  const runners = Array.from({ length: HOSTS }, (_, i) => startRunner(i));
  const client = new Redis({ host: "127.0.0.1", port: redis.port, password: PASSWORD });
  const entries = async () => Object.values(await client.hgetall("patchbench:runners")).map((v) => JSON.parse(v) as Entry);
  const cut = { i: -1, until: 0 };
  let passed = false;
  try {
    await waitFor("three runners registered over their links", async () => (await entries()).filter((e) => e.state === "running").length === HOSTS, 120_000);
    step("runners registered; three series into the maildir");
    const raw = readFileSync(s.mboxPath);
    for (let n = 1; n <= 3; n++) for (const [k, m] of copyOfSeries(raw, n).entries()) writeFileSync(join(maildir, "new", `${n}-${k}.mail`), m);

    // Two runners holding stages of different flows: cut the first's link, kill the second.
    const pidOf = (i: number) => runners[i]!.pid!;
    const busy = await waitFor(
      "two runners busy with bench stages",
      async () => {
        const b = (await entries()).filter((e) => e.state === "running" && e.job?.stage === "bench");
        return b.length >= 2 ? b : undefined;
      },
      240_000,
    );
    const cutI = runners.findIndex((r) => r.pid === busy[0]!.pid);
    const killI = runners.findIndex((r) => r.pid === busy[1]!.pid);
    step(`cutting runner ${cutI}'s link, killing runner ${killI}`);
    ip("link", "set", hostIf(cutI), "down");
    cut.i = cutI;
    cut.until = Date.now() + 60_000;
    process.kill(pidOf(killI), "SIGKILL");

    const outbox = join(dataDir, "outbox");
    const reports = () => (existsSync(outbox) ? readdirSync(outbox).filter((f) => f.endsWith(".eml")) : []);
    await waitFor("three reports", () => reports().length >= 3 || undefined, 600_000);
    step("three reports");
    // The link comes back after 60 s; the cut runner finds its job taken and must not report it again.
    const wait = cut.until - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    ip("link", "set", hostIf(cutI), "up");
    cut.i = -1;
    step("link back up");
    await waitFor("the cut runner back on Redis", async () => (await entries()).some((e) => e.pid === pidOf(cutI) && e.job === null), 240_000);
    await new Promise((r) => setTimeout(r, 3000));

    assert.equal(reports().length, 3, reports().join(" "));
    const db = await openStore(join(dataDir, "patchbench.sqlite"));
    try {
      const flows = await db.selectFrom("flows").select(["id", "finished_at"]).execute();
      assert.equal(flows.length, 3);
      assert.ok(flows.every((f) => f.finished_at !== null), "every flow finished");
      assert.deepEqual(reports().sort(), flows.map((f) => `${f.id}.eml`).sort(), "one report per flow");
      assert.equal((await listDeliveries(db)).length, 3, "one delivery per flow");
      for (const f of reports()) assert.doesNotMatch(readFileSync(join(outbox, f), "utf8"), /^X-Patchbench-Status: error$/m, f);
    } finally {
      await db.destroy();
    }
    passed = true;
  } catch (e) {
    const log = readFileSync(join(dir, "services.log"), "utf8");
    throw new Error(`${(e as Error).message}\nthe services' log, last 4000 characters:\n${log.slice(-4000)}`);
  } finally {
    try {
      if (cut.i >= 0) ip("link", "set", hostIf(cut.i), "up");
    } catch {
      // the link is gone; after() removes what is left
    }
    // Every process still running stops on SIGTERM, the runner whose link was cut too.
    const running = [orchestrator, ...runners].filter((c) => c.exitCode === null && c.signalCode === null);
    for (const c of running) c.kill("SIGTERM");
    const stopped = await Promise.all(
      running.map((c) => Promise.race([new Promise<number | null>((r) => c.once("exit", (code) => r(code))), new Promise<"hung">((r) => setTimeout(() => r("hung"), 60_000))])),
    );
    for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    client.disconnect();
    // What the killed runner's stage left running (its restart would do this).
    for (let i = 0; i < HOSTS; i++) await killOrphanedJobProcesses(join(runnerDir(i), "work"), 5000).catch(() => undefined);
    // Only after a run that held: a failed one's own error (and log) is what a reader needs.
    if (passed) assert.deepEqual(stopped, running.map(() => 0), "each process exits 0 within 60 s of SIGTERM");
  }
});
