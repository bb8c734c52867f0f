import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { type AttackRow, formatAttackTable, verdictOf } from "./format-attack-table.ts";
import { runBpfProgramAttacks } from "./run-bpf-program-attacks.ts";
import { runBuildAttacks } from "./run-build-attacks.ts";
import { runDeadlineAttacks } from "./run-deadline-attacks.ts";
import { runMailAttacks } from "./run-mail-attacks.ts";
import { runPatchAttacks } from "./run-patch-attacks.ts";
import { runQemuAttacks } from "./run-qemu-attacks.ts";
import { runSandboxAttacks } from "./run-sandbox-attacks.ts";
import { runWebhookAttacks } from "./run-webhook-attacks.ts";

/**
 * The security suite (`npm run test:security`, README "Security model"):
 * every attack once through the real service parts, one row each, the
 * table printed at the end. A BROKEN row fails the run; so does a SKIPPED
 * one when PATCHBENCH_REQUIRE_SANDBOX=1.
 */
const rows: AttackRow[] = [];
let redis: TestRedis;
before(async () => {
  redis = await startTestRedis();
});
after(async () => {
  await redis?.stop();
});

test("hostile series through the apply stage (real git)", async () => {
  rows.push(...(await runPatchAttacks()));
});

test("a hostile tree's checkpatch.pl in the runner's sandbox (real bwrap, real Redis socket)", async () => {
  rows.push(...(await runSandboxAttacks()));
});

test("a series' Makefile in the build stage's sandbox (real make, bwrap, ccache)", async () => {
  rows.push(...(await runBuildAttacks()));
});

test("a series' BPF programs compiled for an arm (real clang, bwrap)", async () => {
  rows.push(...(await runBpfProgramAttacks()));
});

test("QEMU's privileges, as a guest escape would get them (both boot paths, real bwrap)", async () => {
  rows.push(...(await runQemuAttacks()));
});

test("forged, replayed and oversized webhooks; /bench on GitHub (real Redis, fake GitHub)", async () => {
  rows.push(...(await runWebhookAttacks(redis)));
});

test("mail: spoofed and forged /bench, header bombs, shell syntax, caps (pollOnce, real Redis, real SMTP)", async () => {
  rows.push(...(await runMailAttacks(redis)));
});

test("a job past its deadline (patchbench review: the real runner and its process groups)", async () => {
  rows.push(...(await runDeadlineAttacks(redis)));
});

test("no attack is BROKEN (the table)", () => {
  process.stdout.write(`\n${formatAttackTable(rows)}\n`);
  const broken = rows.filter((r) => verdictOf(r) === "BROKEN");
  assert.deepEqual(broken.map((r) => `${r.attack}: ${r.detail}`), []);
  // Where the sandbox can run (root and bwrap: scripts/test.sh sets this), a SKIPPED row is an attack nobody tried.
  if (process.env.PATCHBENCH_REQUIRE_SANDBOX === "1") {
    const skipped = rows.filter((r) => verdictOf(r) === "SKIPPED");
    assert.deepEqual(skipped.map((r) => `${r.attack}: ${r.skipped}`), [], "PATCHBENCH_REQUIRE_SANDBOX=1: every row must run");
  }
});
