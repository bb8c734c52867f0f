import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type BenchSample, type Cell, cellKey } from "../../domain/bench.ts";
import type { Exec, ExecResult } from "../../lib/exec.ts";
import { silentLogger } from "../../lib/logger.ts";
import { samplesToCells } from "../../stats/samples-to-cells.ts";
import type { MachineProfile } from "./machine-profile.ts";
import type { NetserverHandle } from "./netserver.ts";
import { type BenchPlan, estimatePlanSeconds } from "../../domain/bench-plan.ts";
import { type BenchDeps, runBenchPlan, validatePlan } from "./run-matrix.ts";

const cells: Cell[] = [
  { test: "TCP_RR", size: 1, topology: "loopback" },
  { test: "TCP_RR", size: 64, topology: "loopback" },
  { test: "TCP_CRR", size: 1, topology: "loopback" },
];
const basePlan = (over: Partial<BenchPlan> = {}): BenchPlan => ({
  cells,
  variants: [
    { name: "busy_read=0", settings: [{ kind: "sysctl", key: "net.core.busy_read", value: "0" }] },
    { name: "busy_read=50", settings: [{ kind: "sysctl", key: "net.core.busy_read", value: "50" }] },
  ],
  rounds: 2,
  runsPerRound: 2,
  durationSec: 1,
  warmup: true,
  design: "ABBA",
  seed: 7,
  pinning: { local: 0, remote: 1 },
  ...over,
});

const profile: MachineProfile = {
  cpuModel: "fake",
  onlineCpus: "0-1",
  cpuCount: 2,
  isolatedCpus: "",
  governor: "unavailable",
  smt: "notsupported",
  smtActive: null,
  turbo: "unavailable",
  kernelRelease: "6.18",
  kernelCmdline: "",
  sysctls: {},
  netperfVersion: "2.7.0",
  irqAffinity: { total: 0, spreadOverAll: 0, byCpuList: {} },
  isVirtual: true,
};

test("validatePlan names every problem, including the budget", () => {
  assert.doesNotThrow(() => validatePlan(basePlan()));
  const bad = basePlan({
    cells: [
      { test: "SCTP_RR" as never, size: 1, topology: "loopback" },
      { test: "TCP_RR", size: 0, topology: "moon" as never },
    ],
    variants: [
      { name: "a", settings: [{ kind: "kernel", ref: "base" }] },
      { name: "b", settings: [{ kind: "sysctl", key: "kernel.panic", value: "1" }] },
    ],
  });
  assert.throws(
    () => validatePlan(bad),
    (e: Error) =>
      /unknown test "SCTP_RR"/.test(e.message) &&
      /unknown topology "moon"/.test(e.message) &&
      /size 0/.test(e.message) &&
      /kernel variants need a boot/.test(e.message) &&
      /kernel.panic" is not allowed/.test(e.message),
  );
  assert.throws(() => validatePlan(basePlan({ maxRounds: 1 })), /maxRounds \(1\) is below rounds/);
  assert.throws(() => validatePlan(basePlan({ pinning: { local: 0, remote: 2 } }), { cpuCount: 2 }), /pinning.remote/);
  const big = basePlan({ rounds: 6, maxRounds: 16, durationSec: 10, runsPerRound: 3 });
  const est = estimatePlanSeconds(big);
  assert.ok(est > 16 * 2 * 3 * 4 * 10, `estimate ${est}`);
  assert.throws(() => validatePlan(big, { budgetSec: 600 }), /matrix too large: 3 cells × 2 variants × 16 rounds × 3 runs × 10 s ≈ \d+ s, over the budget of 600 s/);
});

interface Fake {
  root: string;
  journalPath: string;
  calls: string[][];
  deps: (over?: Partial<BenchDeps>) => BenchDeps;
  servers: FakeServer[];
  /** The fake RetransSegs counter the runner reads around each run. */
  retrans: { value: number | null };
}
interface FakeServer extends NetserverHandle {
  kill(reason: string): void;
  stopped: boolean;
}

/** Fake netperf: THROUGHPUT = 1000 + current busy_read (from the fake /proc/sys); size 64 fails like netperf does. */
function makeFake(opts: { failSize?: number } = {}): Fake {
  const root = mkdtempSync(join(tmpdir(), "pb-matrix-"));
  mkdirSync(join(root, "net", "core"), { recursive: true });
  writeFileSync(join(root, "net", "core", "busy_read"), "0\n");
  const calls: string[][] = [];
  const servers: FakeServer[] = [];
  const exec: Exec = async (argv) => {
    calls.push([...argv]);
    const res = (code: number, stdout: string): ExecResult => ({ argv, code, signal: null, stdout, stderr: "", stdoutBytes: Buffer.from(stdout), timedOut: false, durationMs: 1 });
    if (argv[0] !== "netperf") return res(0, "");
    const size = Number(argv[argv.indexOf("-r") + 1]?.split(",")[0]);
    if (size === opts.failSize) return res(255, "establish control: are you sure there is a netserver listening on 127.0.0.1 at port 1?\n");
    const busy = Number(readFileSync(join(root, "net", "core", "busy_read"), "utf8"));
    const keys = argv.at(-1)!.split(",");
    return res(0, keys.map((k) => `${k}=${k === "THROUGHPUT" ? 1000 + busy : k === "THROUGHPUT_UNITS" ? "Trans/s" : "5"}`).join("\n"));
  };
  const startNetserver = async () => {
    let dead: string | null = null;
    const s: FakeServer = {
      pid: 100 + servers.length,
      port: 40000 + servers.length,
      addr: "127.0.0.1",
      netns: null,
      stopped: false,
      alive: () => dead === null,
      deathReason: () => dead,
      stop: async () => {
        s.stopped = true;
      },
      kill: (reason) => {
        dead = reason;
      },
    };
    servers.push(s);
    return s;
  };
  const journalPath = join(root, "journal.json");
  const retrans = { value: 0 as number | null };
  return {
    retrans,
    root,
    journalPath,
    calls,
    servers,
    deps: (over = {}) => ({
      exec,
      log: silentLogger(),
      journalPath,
      procSys: root,
      settleMs: 0,
      collectProfile: async () => profile,
      startNetserver,
      readRetransmits: async () => retrans.value,
      ...over,
    }),
  };
}

test("runBenchPlan: ABBA order, warm-ups discarded, settings applied per side and restored", async () => {
  const f = makeFake({ failSize: 64 });
  try {
    const seen: BenchSample[] = [];
    const r = await runBenchPlan(basePlan(), f.deps({ onSample: (s) => seen.push(s) }));
    assert.equal(r.aborted, false);
    assert.equal(r.samples.length, 2 /*rounds*/ * 2 /*variants*/ * 3 /*cells*/ * 2 /*runs*/);
    assert.deepEqual(seen, r.samples);
    // Sides in ABBA order: round 0 A B, round 1 B A.
    const sides = [...new Set(r.samples.map((s) => `${s.round}:${s.slot}:${s.variant}`))];
    assert.deepEqual(sides, ["0:0:busy_read=0", "0:1:busy_read=50", "1:0:busy_read=50", "1:1:busy_read=0"]);
    // Settings were live during the side: the fake reports 1000 + busy_read.
    for (const s of r.samples.filter((x) => x.ok)) assert.equal(s.throughput, s.variant === "busy_read=50" ? 1050 : 1000);
    // The failing cell is kept, with netperf's words.
    const bad = r.samples.filter((s) => !s.ok);
    assert.equal(bad.length, 8);
    assert.ok(bad.every((s) => s.cell.size === 64 && /^netperf exited 255: establish control/.test(s.problem ?? "")));
    // Warm-up: one extra netperf per cell per side, not a sample; its failure is a problem.
    assert.equal(f.calls.filter((c) => c[0] === "netperf").length, 24 + 12);
    assert.ok(r.problems.some((p) => /^warm-up TCP_RR\/loopback\/64/.test(p)));
    // Pinning and -P 0 reached netperf.
    assert.ok(f.calls.filter((c) => c[0] === "netperf").every((c) => c.includes("-T") && c[c.indexOf("-T") + 1] === "0,1"));
    assert.equal(readFileSync(join(f.root, "net", "core", "busy_read"), "utf8").trim(), "0");
    assert.equal(existsSync(f.journalPath), false);
    assert.ok(f.servers.every((s) => s.stopped));
  } finally {
    rmSync(f.root, { recursive: true, force: true });
  }
});

test("runBenchPlan: decide extends by pairs of rounds up to maxRounds", async () => {
  const f = makeFake();
  try {
    const asked: number[] = [];
    const r = await runBenchPlan(
      basePlan({ cells: [cells[0]!], rounds: 2, maxRounds: 8, runsPerRound: 1, warmup: false }),
      f.deps({
        decide: (s) => {
          asked.push(s.length);
          return asked.length < 2 ? "continue" : "stop";
        },
      }),
    );
    assert.deepEqual(asked, [4, 8]);
    assert.deepEqual([...new Set(r.samples.map((s) => s.round))], [0, 1, 2, 3]);
    // Without decide, exactly `rounds`.
    const f2 = await runBenchPlan(basePlan({ cells: [cells[0]!], rounds: 3, maxRounds: 8, runsPerRound: 1, warmup: false }), f.deps());
    assert.equal(f2.samples.length, 6);
  } finally {
    rmSync(f.root, { recursive: true, force: true });
  }
});

test("runBenchPlan: a netserver that dies is restarted once, then it is an error; cleanup still happens", async () => {
  const f = makeFake();
  try {
    let n = 0;
    const r = await runBenchPlan(
      basePlan({ cells: [cells[0]!], rounds: 1, runsPerRound: 3, warmup: false }),
      f.deps({
        onSample: () => {
          if (++n === 2) f.servers[0]!.kill("netserver was killed by SIGKILL");
        },
      }),
    );
    assert.equal(f.servers.length, 2, JSON.stringify(r.problems));
    assert.ok(r.problems.some((p) => p === "netserver for loopback died (netserver was killed by SIGKILL); restarted once"), JSON.stringify(r.problems));
    assert.equal(r.samples.length, 6);
    const f2 = makeFake();
    let m = 0;
    await assert.rejects(
      runBenchPlan(
        basePlan({ cells: [cells[0]!], rounds: 1, runsPerRound: 3, warmup: false }),
        f2.deps({
          onSample: () => {
            m++;
            f2.servers.at(-1)!.kill(`death ${m}`);
          },
        }),
      ),
      /netserver for loopback died again after a restart: death 2/,
    );
    assert.ok(f2.servers.every((s) => s.stopped));
    assert.equal(readFileSync(join(f2.root, "net", "core", "busy_read"), "utf8").trim(), "0");
    rmSync(f2.root, { recursive: true, force: true });
  } finally {
    rmSync(f.root, { recursive: true, force: true });
  }
});

test("runBenchPlan: abort stops between runs, restores settings and says so", async () => {
  const f = makeFake();
  try {
    const ac = new AbortController();
    const r = await runBenchPlan(
      basePlan({ rounds: 2 }),
      f.deps({
        signal: ac.signal,
        onSample: (s) => {
          if (s.variant === "busy_read=50") ac.abort();
        },
      }),
    );
    assert.equal(r.aborted, true);
    assert.equal(r.samples.filter((s) => s.variant === "busy_read=50").length, 1);
    assert.ok(r.problems.includes("aborted before the plan finished"));
    assert.equal(readFileSync(join(f.root, "net", "core", "busy_read"), "utf8").trim(), "0");
  } finally {
    rmSync(f.root, { recursive: true, force: true });
  }
});

test("runBenchPlan: a journal left by a crashed run is restored first; bad plans touch nothing", async () => {
  const f = makeFake();
  try {
    writeFileSync(join(f.root, "net", "core", "busy_read"), "50\n");
    writeFileSync(
      f.journalPath,
      JSON.stringify({ version: 1, ownerPid: 4194305, entries: [{ key: "net.core.busy_read", netns: null, original: "0", applied: "50", at: "x" }] }),
    );
    await assert.rejects(runBenchPlan(basePlan({ runsPerRound: 0 }), f.deps()), /invalid bench plan: runsPerRound/);
    assert.ok(existsSync(f.journalPath), "validation runs before any repair or change");
    assert.equal(f.calls.length, 0);
    const r = await runBenchPlan(basePlan({ cells: [cells[0]!], rounds: 1, runsPerRound: 1, warmup: false }), f.deps());
    assert.ok(r.problems.includes("restored net.core.busy_read=0 left changed by an earlier run"));
    assert.equal(r.samples.find((s) => s.variant === "busy_read=0")?.throughput, 1000);
    await assert.rejects(runBenchPlan(basePlan(), f.deps({ budgetSec: 5 })), /matrix too large/);
  } finally {
    rmSync(f.root, { recursive: true, force: true });
  }
});

test("runBenchPlan: pairing per cell runs A and B of each cell back to back, switching the variant per cell", async () => {
  const f = makeFake();
  try {
    const r = await runBenchPlan(basePlan({ pairing: "cell", warmupRounds: "first", runsPerRound: 1 }), f.deps());
    const order = r.samples.map((s) => `${s.round}:${s.cell.test}/${s.cell.size}:${s.variant}`);
    // Each cell's two halves are adjacent; ABBA flips which goes first in round 1; cell order shuffles per round.
    for (let i = 0; i < order.length; i += 2) {
      const [a, b] = [r.samples[i]!, r.samples[i + 1]!];
      assert.equal(cellKey(a.cell), cellKey(b.cell), `pair ${i}: ${order[i]} / ${order[i + 1]}`);
      assert.deepEqual([a.variant, b.variant], a.round === 0 ? ["busy_read=0", "busy_read=50"] : ["busy_read=50", "busy_read=0"]);
    }
    for (const s of r.samples) assert.equal(s.throughput, s.variant === "busy_read=50" ? 1050 : 1000);
    // Warm-up only in round 0: 3 cells x 2 variants, then 12 measured runs.
    assert.equal(f.calls.filter((c) => c[0] === "netperf").length, 6 + 12);
    assert.equal(existsSync(f.journalPath), false);
  } finally {
    rmSync(f.root, { recursive: true, force: true });
  }
});

test("runBenchPlan: a TCP retransmit during a run flags that run (quality gate)", async () => {
  const f = makeFake();
  try {
    let n = 0;
    const r = await runBenchPlan(
      basePlan({ cells: [cells[0]!], rounds: 2, runsPerRound: 2, warmup: false }),
      f.deps({
        // The counter moves by 50 during the third run only (far over 0.1% of its segments).
        readRetransmits: async () => {
          n++;
          return n <= 5 ? 10 : 60;
        },
      }),
    );
    const bad = r.samples.filter((s) => !s.ok);
    assert.equal(bad.length, 1);
    assert.match(bad[0]!.problem ?? "", /^50 TCP retransmits on loopback during the run \(over \d+, 0\.1% of/);
    assert.equal(bad[0]!.values.RETRANSMITS, "50");
    assert.equal(r.samples.indexOf(bad[0]!), 2);
  } finally {
    rmSync(f.root, { recursive: true, force: true });
  }
});

test("validatePlan: tc-bpf needs a namespace topology", () => {
  const tc = basePlan({
    variants: [
      { name: "a", settings: [] },
      { name: "b", settings: [{ kind: "tc-bpf", object: "/x/d.o", section: "tc", side: "client" }] },
    ],
  });
  assert.throws(() => validatePlan(tc), /tc-bpf attaches to a veth, but every cell is loopback/);
});

/** `exec` whose n-th netperf run (1-based) falls into the "slow mode": 300 instead of ~1000 tps. */
function slowNthNetperf(exec: Exec, nth: number): Exec {
  let n = 0;
  return async (argv, o) => {
    const r = await exec(argv, o);
    if (argv[0] !== "netperf") return r;
    n++;
    return n === nth ? { ...r, stdout: r.stdout.replace(/THROUGHPUT=\d+/, "THROUGHPUT=300") } : r;
  };
}

test("runBenchPlan: a slow-mode run in the first round, which has no history yet, is measured again once four rounds exist", async () => {
  const f = makeFake();
  try {
    // The 1st netperf call (cell 0, round 0, first half) is slow: nothing to compare it with yet.
    const slowExec = slowNthNetperf(f.deps().exec!, 1);
    const r = await runBenchPlan(
      basePlan({ cells: [cells[0]!], rounds: 4, runsPerRound: 1, warmup: false, pairing: "cell", repairPairs: 2 }),
      f.deps({ exec: slowExec }),
    );
    const superseded = r.samples.filter((s) => s.superseded !== undefined);
    assert.deepEqual(
      superseded.map((s) => s.round),
      [0, 0],
      "both halves of round 0",
    );
    assert.match(superseded[0]!.superseded ?? "", /slow mode \(300 < 60% of median 10\d\d\)/);
    assert.ok(r.problems.some((p) => /round 0: pair measured again after round 3/.test(p)));
    const { inputs } = samplesToCells(r.samples, ["busy_read=0", "busy_read=50"]);
    assert.equal(inputs[0]!.input.rounds.length, 8);
    assert.ok(inputs[0]!.input.rounds.every((x) => x.runs.length === 1 && x.runs[0]! >= 1000));
    // Without repairPairs nothing is re-measured: the analysis sees the slow run and calls the cell noisy.
    const plain = await runBenchPlan(
      basePlan({ cells: [cells[0]!], rounds: 4, runsPerRound: 1, warmup: false, pairing: "cell" }),
      f.deps({ exec: slowNthNetperf(f.deps().exec!, 1) }),
    );
    assert.equal(plain.samples.filter((s) => s.superseded !== undefined).length, 0);
  } finally {
    rmSync(f.root, { recursive: true, force: true });
  }
});

test("runBenchPlan: repairPairs measures a pair again when a run is in the slow mode; the replaced runs are kept, superseded", async () => {
  const f = makeFake();
  try {
    // The 5th netperf call (cell 0, round 2, first half) runs in the "slow mode": 300 instead of ~1000.
    const slowExec = slowNthNetperf(f.deps().exec!, 5);
    const r = await runBenchPlan(
      basePlan({ cells: [cells[0]!], rounds: 4, runsPerRound: 1, warmup: false, pairing: "cell", repairPairs: 2 }),
      f.deps({ exec: slowExec }),
    );
    const superseded = r.samples.filter((s) => s.superseded !== undefined);
    assert.equal(superseded.length, 2, "both halves of the pair");
    assert.match(superseded[0]!.superseded ?? "", /slow mode \(300 < 60% of median 10\d\d\)/);
    assert.equal(r.samples.length, 4 * 2 + 2);
    assert.ok(r.problems.some((p) => /round 2: pair measured again/.test(p)));
    // The analysis sees 4 good pairs.
    const { inputs } = samplesToCells(r.samples, ["busy_read=0", "busy_read=50"]);
    assert.equal(inputs[0]!.input.rounds.length, 8);
    assert.ok(inputs[0]!.input.rounds.every((x) => x.runs.length === 1 && x.runs[0]! >= 1000));
    assert.throws(() => validatePlan(basePlan({ repairPairs: 1 })), /repairPairs needs pairing cell/);
  } finally {
    rmSync(f.root, { recursive: true, force: true });
  }
});
