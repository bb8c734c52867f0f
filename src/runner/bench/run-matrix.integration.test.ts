/**
 * Integration: real netperf/netserver, real network namespaces, real sysctl
 * writes (always restored). Traffic stays on 127.0.0.1 and inside namespaces
 * created here (192.0.2.0/24, 198.51.100.0/24). About 15 s in all.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { BenchSample } from "../../domain/bench.ts";
import { exec } from "../../lib/exec.ts";
import { silentLogger } from "../../lib/logger.ts";
import { applySettings, restoreFromJournal } from "./host-settings.ts";
import { pickFreePort, startNetserver } from "./netserver.ts";
import type { BenchPlan } from "../../domain/bench-plan.ts";
import { runBenchPlan } from "./run-matrix.ts";
import { canCreateNetns, cleanupStale, listNetns, newRunId, setupTopology, teardownTopology } from "./topology.ts";

const PREFIX = "pbitest";
const BUSY_READ = "/proc/sys/net/core/busy_read";
const readBusy = () => readFileSync(BUSY_READ, "utf8").trim();

let dir = "";
let netnsSkip: string | false = false;
let originalBusyRead = "";

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "pb-bench-it-"));
  originalBusyRead = readBusy();
  const probe = await canCreateNetns(PREFIX);
  netnsSkip = probe.ok ? false : `ip netns add is not permitted here: ${probe.reason}`;
});

after(async () => {
  // Belt and braces: never leave the host changed or our namespaces behind.
  await restoreFromJournal(join(dir, "journal.json")).catch(() => undefined);
  if (readBusy() !== originalBusyRead) writeFileSync(BUSY_READ, originalBusyRead);
  for (const n of await listNetns()) if (n.startsWith(`${PREFIX}-${process.pid}-`)) await exec(["ip", "netns", "del", n], { okCodes: "any" });
  rmSync(dir, { recursive: true, force: true });
});

test("a tiny real plan: loopback + container, busy_read 0 vs 50, one ABBA round", async (t) => {
  if (netnsSkip) return t.skip(netnsSkip);
  const journalPath = join(dir, "journal.json");
  const plan: BenchPlan = {
    cells: [
      { test: "TCP_RR", size: 1, topology: "loopback" },
      { test: "TCP_RR", size: 1, topology: "container" },
    ],
    variants: [
      { name: "busy_read=0", settings: [{ kind: "sysctl", key: "net.core.busy_read", value: "0" }] },
      { name: "busy_read=50", settings: [{ kind: "sysctl", key: "net.core.busy_read", value: "50" }] },
    ],
    rounds: 1,
    runsPerRound: 1,
    durationSec: 1,
    warmup: true,
    design: "ABBA",
    seed: 1,
    pinning: { local: 0, remote: 1 },
  };
  const seenBusy: Record<string, string> = {};
  const t0 = Date.now();
  const r = await runBenchPlan(plan, {
    log: silentLogger(),
    journalPath,
    prefix: PREFIX,
    settleMs: 300,
    budgetSec: 60,
    onSample: (s: BenchSample) => {
      seenBusy[s.variant] = readBusy();
    },
  });
  const wall = (Date.now() - t0) / 1000;
  assert.equal(r.aborted, false);
  assert.equal(r.samples.length, 4);
  for (const s of r.samples) {
    assert.equal(s.ok, true, s.problem);
    assert.ok(s.throughput > 0);
    assert.equal(s.values.THROUGHPUT_UNITS, "Trans/s");
    assert.match(s.values.P99_LATENCY ?? "", /^\d+$/);
  }
  assert.deepEqual(seenBusy, { "busy_read=0": "0", "busy_read=50": "50" }, "each variant's setting was live during its runs");
  assert.equal(readBusy(), originalBusyRead, "busy_read restored");
  assert.equal((await listNetns()).filter((n) => n.startsWith(`${PREFIX}-${process.pid}-`)).length, 0, "namespaces torn down");
  assert.equal(r.profile.netperfVersion !== null, true);
  t.diagnostic(
    `wall ${wall.toFixed(1)} s; ` +
      r.samples.map((s) => `${s.cell.topology}/${s.variant}: ${Math.round(s.throughput)} tps p50 ${s.values.P50_LATENCY} us`).join("; "),
  );
});

test("restoreFromJournal repairs a value a 'crashed' run left changed", async () => {
  const journalPath = join(dir, "crash-journal.json");
  const target = originalBusyRead === "37" ? "38" : "37";
  await applySettings([{ key: "net.core.busy_read", value: target }], { journalPath });
  assert.equal(readBusy(), target);
  // The run dies here: the journal names a process that no longer exists (above pid_max).
  const j = JSON.parse(readFileSync(journalPath, "utf8"));
  writeFileSync(journalPath, JSON.stringify({ ...j, ownerPid: 4194305 }));
  const r = await restoreFromJournal(journalPath);
  assert.equal(r.restored.length, 1);
  assert.equal(readBusy(), originalBusyRead);
});

test("leftover namespaces of a dead run are cleaned (with what still ran inside); setup is idempotent", async (t) => {
  if (netnsSkip) return t.skip(netnsSkip);
  const dead = `${PREFIX}-4194305-dead-ca`;
  await exec(["ip", "netns", "add", dead]);
  await exec(["ip", "link", "add", "pbdeadca", "netns", dead, "type", "veth", "peer", "name", "pbdeadcb", "netns", dead]);
  const sleeper = exec(["ip", "netns", "exec", dead, "sleep", "300"], { okCodes: "any", timeoutMs: 60_000 });
  await new Promise((res) => setTimeout(res, 100));
  // A live run of ours must survive the cleanup.
  const live = await setupTopology("container", { prefix: PREFIX, runId: newRunId() });
  const again = await setupTopology("container", { prefix: PREFIX, runId: live.runId });
  assert.deepEqual(again, live);
  const removed = await cleanupStale(PREFIX);
  assert.deepEqual(removed, [dead]);
  const killed = await sleeper;
  assert.equal(killed.signal, "SIGKILL");
  const names = await listNetns();
  assert.ok(!names.includes(dead));
  assert.ok(live.namespaces.every((n) => names.includes(n)));
  await teardownTopology(live);
  await teardownTopology(live);
  assert.ok(!(await listNetns()).some((n) => live.namespaces.includes(n)));
});

test("netperf against a port with no netserver gives an ok=false sample with netperf's message", async () => {
  const port = await pickFreePort();
  const r = await runBenchPlan(
    {
      cells: [{ test: "TCP_RR", size: 1, topology: "loopback" }],
      variants: [
        { name: "A", settings: [] },
        { name: "B", settings: [] },
      ],
      rounds: 1,
      runsPerRound: 1,
      durationSec: 1,
      warmup: false,
      design: "ABAB",
      seed: 0,
      pinning: null,
    },
    {
      log: silentLogger(),
      journalPath: join(dir, "nosrv-journal.json"),
      prefix: PREFIX,
      settleMs: 0,
      // A "netserver" that claims to be alive on a port where nothing listens.
      startNetserver: async () => ({ pid: 0, port, addr: "127.0.0.1", netns: null, alive: () => true, deathReason: () => null, stop: async () => {} }),
    },
  );
  assert.equal(r.samples.length, 2);
  for (const s of r.samples) {
    assert.equal(s.ok, false);
    assert.equal(s.problem, `netperf exited 255: establish control: are you sure there is a netserver listening on 127.0.0.1 at port ${port}?`);
    assert.ok(Number.isNaN(s.throughput));
  }
});

test("a netserver killed under us is seen dead, with the reason", async () => {
  const s = await startNetserver({ addr: "127.0.0.1" });
  assert.equal(s.alive(), true);
  const status = readFileSync(`/proc/${s.pid}/status`, "utf8");
  assert.match(status, /^Name:\s+netserver$/m);
  process.kill(s.pid, "SIGKILL");
  for (let i = 0; i < 100 && s.alive(); i++) await new Promise((res) => setTimeout(res, 20));
  assert.equal(s.alive(), false);
  assert.match(s.deathReason() ?? "", /^netserver was killed by SIGKILL/);
  await s.stop();
});
