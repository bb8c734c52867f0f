import assert from "node:assert/strict";
import { test } from "node:test";
import type { BenchPlan } from "../../domain/bench-plan.ts";
import { silentLogger } from "../../lib/logger.ts";
import { runBenchSessions } from "../bench/run-bench-sessions.ts";
import type { Guest } from "./boot-guest.ts";
import type { GuestSideSession } from "./guest-side-session.ts";
import { bootPerSide, freeSlot, oneKernelSlot } from "./boot-per-side.ts";
import { freshBootPerRound } from "./fresh-boot-per-round.ts";
import { rebootOnce } from "./reboot-once.ts";

const plan: BenchPlan = {
  cells: [{ test: "TCP_RR", size: 1, topology: "loopback" }],
  variants: [
    { name: "base", settings: [{ kind: "kernel", ref: "base" }] },
    { name: "candidate", settings: [{ kind: "kernel", ref: "candidate" }] },
  ],
  rounds: 2,
  runsPerRound: 2,
  durationSec: 1,
  warmup: false,
  design: "ABBA",
  seed: 1,
  pinning: null,
  pairing: "cell",
};

/** A stand-in guest session: boot number `boot`; `dieAt` kills its QEMU at that measured run (1-based, across boots). */
function fakeSide(name: string, boot: number, counter: { runs: number; dieAt: number[] }, log: string[]): GuestSideSession {
  let alive = true;
  const guest = {
    label: name,
    accel: "tcg",
    kernelRelease: "6.1.192+",
    bootMs: 5000 + boot,
    alive: () => alive,
    death: () => (alive ? null : { outcome: "panic", reason: "kernel panic", consoleTail: "Kernel panic - not syncing: test" }),
  } as unknown as Guest;
  return {
    name,
    describe: `${name} kernel`,
    guest,
    notes: [],
    profile: { side: name, sysctls: {}, cmdline: "" },
    switches: { pauses: [1], resumes: [] },
    async enter() {
      if (!alive) throw new Error(`the ${name} guest is gone`);
      log.push(`enter ${name}#${boot}`);
    },
    async leave() {
      return [];
    },
    async measure() {
      counter.runs++;
      if (counter.dieAt.includes(counter.runs)) {
        alive = false;
        throw new Error("guest agent: connection closed");
      }
      log.push(`run ${name}#${boot}`);
      return { startedAt: "a", endedAt: "b", values: {}, throughput: name === "base" ? 100 : 50, ok: true };
    },
    async close() {
      log.push(`close ${name}#${boot}`);
      return [];
    },
  };
}

function sides(dieAt: number[], log: string[]) {
  const counter = { runs: 0, dieAt };
  return ["base", "candidate"].map((name) => {
    let boots = 0;
    return rebootOnce(fakeSide(name, boots, counter, log), async () => fakeSide(name, ++boots, counter, log), silentLogger());
  });
}

test("a candidate guest that dies mid-pair is booted again once; the pair is measured again on the new boot, nothing from the dead boot counts", async () => {
  const log: string[] = [];
  // Run 3 is the candidate's first run of round 0 (base, base, candidate, candidate).
  const r = await runBenchSessions(plan, sides([3], log), { log: silentLogger(), settleMs: 0 });
  const current = r.samples.filter((s) => s.superseded === undefined);
  assert.equal(current.length, 2 * 2 * 2);
  assert.ok(current.every((s) => s.ok));
  assert.ok(log.includes("close candidate#0") && log.includes("enter candidate#1"), log.join(", "));
  assert.ok(!log.slice(log.indexOf("close candidate#0") + 1).some((l) => l.endsWith("candidate#0")), "nothing runs on the dead boot after it died");
  assert.ok(r.problems.some((p) => /^the candidate guest died \(kernel panic; console: Kernel panic - not syncing: test\) and was booted again in 5\.0 s$/.test(p)), r.problems.join("\n"));
  assert.ok(r.problems.some((p) => /round 0: pair measured again \(candidate: the candidate guest died/.test(p)), r.problems.join("\n"));
});

test("a guest that dies a second time ends the benchmark with an error (run 7: the candidate on its new boot)", async () => {
  await assert.rejects(runBenchSessions(plan, sides([3, 7], []), { log: silentLogger(), settleMs: 0 }), /connection closed/);
});

test("freshBootPerRound: each side boots afresh when it enters a new round, never in the middle of one; boots are counted per side", async () => {
  const log: string[] = [];
  const counter = { runs: 0, dieAt: [] as number[] };
  const three = { ...plan, rounds: 3 };
  const fresh = ["base", "candidate"].map((name) => {
    let boots = 0;
    return freshBootPerRound(fakeSide(name, boots, counter, log), async () => fakeSide(name, ++boots, counter, log), silentLogger());
  });
  const r = await runBenchSessions(three, fresh, { log: silentLogger(), settleMs: 0 });
  assert.equal(r.samples.length, 3 * 2 * 2);
  // Round 0 on the first boots; each later round first closes the side's guest and boots it again.
  const runsOn = (side: string, boot: number) => log.filter((l) => l === `run ${side}#${boot}`).length;
  for (const side of ["base", "candidate"]) for (const boot of [0, 1, 2]) assert.equal(runsOn(side, boot), 2, `${side}#${boot}: ${log.join(", ")}`);
  for (const side of ["base", "candidate"]) {
    assert.ok(log.indexOf(`close ${side}#0`) < log.indexOf(`enter ${side}#1`), log.join(", "));
    assert.ok(log.indexOf(`close ${side}#1`) < log.indexOf(`enter ${side}#2`), log.join(", "));
  }
  assert.deepEqual(fresh.map((s) => s.bootsMs), [[5000, 5001, 5002], [5000, 5001, 5002]]);
  // Every boot but the last was closed during the job; the driver closes the last.
  assert.deepEqual(log.filter((l) => l.startsWith("close")).sort(), ["close base#0", "close base#1", "close base#2", "close candidate#0", "close candidate#1", "close candidate#2"]);
});

test("bootPerSide: one kernel up at a time; entering another side shuts the running kernel down and boots the side's own, the side already up is only resumed", async () => {
  const log: string[] = [];
  const counter = { runs: 0, dieAt: [] as number[] };
  const slot = oneKernelSlot();
  const opened = [];
  // As openKernelSides does: every side boots once to show it comes up, each after the one before is shut down.
  for (const name of ["base", "candidate"]) {
    await freeSlot(slot);
    let boots = 0;
    opened.push(bootPerSide(fakeSide(name, boots, counter, log), async () => fakeSide(name, ++boots, counter, log), slot, silentLogger()));
  }
  const r = await runBenchSessions({ ...plan, rounds: 3, pairing: "side" }, opened, { log: silentLogger(), settleMs: 0 });
  assert.equal(r.samples.length, 3 * 2 * 2);
  assert.ok(r.samples.every((s) => s.ok));
  const entries = log.filter((l) => l.startsWith("enter"));
  for (const [i, l] of log.entries()) {
    if (!l.startsWith("enter")) continue;
    const [side, boot] = l.slice("enter ".length).split("#");
    // Every boot of the other side that entered before this one was shut down already.
    for (const other of log.slice(0, i).filter((x) => x.startsWith("enter") && !x.endsWith(`${side}#${boot}`))) {
      const id = other.slice("enter ".length);
      assert.ok(log.slice(0, i).includes(`close ${id}`), `${id} still up when ${side}#${boot} entered: ${log.join(", ")}`);
    }
  }
  // A side entered twice in a row (ABBA's middle) keeps its boot; every other entry is a new boot.
  const changes = entries.filter((l, i) => i === 0 || l.split("#")[0] !== entries[i - 1]!.split("#")[0]).length;
  const total = opened.reduce((n, s) => n + s.bootsMs.length, 0);
  assert.equal(total, 2 + changes, `${total} boots for ${changes} changes of side: ${entries.join(", ")}`);
  assert.ok(changes >= 4, entries.join(", "));
  // The driver's close shuts the last kernel down; nothing is left up.
  const closes = log.filter((l) => l.startsWith("close")).length;
  assert.equal(closes, total);
});
