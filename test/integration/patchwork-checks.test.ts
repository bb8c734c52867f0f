import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, test } from "node:test";
import { applyPatchworkChecks } from "../../src/deliver/patchwork/apply-patchwork-checks.ts";
import { createPatchworkClient, type PatchworkClient } from "../../src/lib/patchwork-client.ts";
import type { PlannedCheck } from "../../src/deliver/patchwork/plan-patchwork-checks.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { startFakePatchwork, type FakePatchwork } from "../helpers/fake-patchwork.ts";
import { readFixture } from "../helpers/fixtures.ts";

/**
 * patchbench's patchwork client and check delivery against the local
 * stand-in, which checks every request and answer against patchwork's own
 * API 1.3 description (problems must stay empty), with patchwork's own test
 * mails (../shared/fixtures/mail/patchwork/series-revision-basic.mbox: v1
 * and v2 of a 2-patch series with covers).
 */
let pw: FakePatchwork;
const lines: Record<string, unknown>[] = [];
const log = createLogger({
  level: "info",
  format: "json",
  destination: new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  }),
});
const mbox = readFixture("mail/patchwork", "series-revision-basic.mbox").toString("utf8");

function client(token: string | null, extra: { attempts?: number; backoffMs?: number } = {}): PatchworkClient {
  return createPatchworkClient({ url: pw.url, token, tokenSource: "env PATCHWORK_TOKEN", log, backoffMs: 20, ...extra });
}

function plan(patchId: number, state: PlannedCheck["state"], context = "patchbench-apply", description = "applied 2/2 patches to bpf-next"): PlannedCheck {
  return { patchId, context, state, description, targetUrl: "https://lore.kernel.org/all/1473632795-9971-1-git-send-email-stephenfinucane@gmail.com/" };
}

before(async () => {
  pw = await startFakePatchwork({ mboxes: [mbox] });
});
after(async () => {
  assert.deepEqual(pw.problems, [], "every request and answer fits patchwork's API description");
  await pw.close();
});

test("the stand-in serves both versions as series, with events, and each series' mbox as the mails were sent", async () => {
  const c = client(null);
  const events = await c.list<{ category: string; payload: { series?: { id: number; version: number; mbox: string } } }>("events/", { category: "series-completed", project: pw.project.linkName });
  assert.deepEqual(events.map((e) => e.payload.series?.version).sort(), [1, 2]);
  const v2 = events.find((e) => e.payload.series?.version === 2)!.payload.series!;
  const series = await c.get<{ received_all: boolean; patches: { id: number; msgid: string }[] }>(`series/${v2.id}/`);
  assert.equal(series.received_all, true);
  assert.deepEqual(
    series.patches.map((p) => p.msgid),
    ["<1473632795-9971-2-git-send-email-stephenfinucane@gmail.com>", "<1473632795-9971-3-git-send-email-stephenfinucane@gmail.com>"],
  );
  const raw = (await c.download(v2.mbox)).toString("utf8");
  assert.ok(raw.startsWith("From stephenfinucane@gmail.com"), raw.slice(0, 80));
  assert.ok(mbox.includes(raw.slice(0, 2000)), "the mbox bytes are the fixture's own");
  assert.equal((raw.match(/^Message-ID: /gm) ?? []).length, 3, "cover and two patches");
  const later = await c.list("events/", { category: "series-completed", since: "2999-01-01T00:00:00" });
  assert.deepEqual(later, [], "since: nothing after a future cursor");
});

test("checks are posted once per state: a re-run posts nothing, pending → success posts one each", async () => {
  const [p1, p2] = pw.series[1]!.patches.map((p) => p.id) as [number, number];
  const c = client(pw.maintainerToken);
  const pending = await applyPatchworkChecks(c, [plan(p1, "pending"), plan(p2, "pending")], log);
  assert.deepEqual(pending, { posted: 2, unchanged: 0, droppedPatches: [] });
  const done = await applyPatchworkChecks(c, [plan(p1, "success"), plan(p2, "success")], log);
  assert.deepEqual(done, { posted: 2, unchanged: 0, droppedPatches: [] });
  const again = await applyPatchworkChecks(c, [plan(p1, "success"), plan(p2, "success")], log);
  assert.deepEqual(again, { posted: 0, unchanged: 2, droppedPatches: [] });
  const onP1 = pw.checks.filter((x) => x.patchId === p1);
  assert.deepEqual(
    onP1.map((x) => x.state),
    ["pending", "success"],
  );
  // What a patchwork reader sees: the patch's combined check is the latest per context.
  const patch = await c.get<{ check: string }>(`patches/${p1}/`);
  assert.equal(patch.check, "success");
});

test("429 with Retry-After is waited out, then the check lands once", async () => {
  const p = pw.series[0]!.patches[0]!.id;
  pw.failNext(1, 429, { retryAfter: 1 });
  const t0 = performance.now();
  const out = await applyPatchworkChecks(client(pw.maintainerToken), [plan(p, "warning", "patchbench-bench", "TCP_RR container 1 B -42.1%")], log);
  const waited = performance.now() - t0;
  assert.equal(out.posted, 1);
  assert.ok(waited >= 1000, `waited ${waited.toFixed(0)} ms for Retry-After: 1`);
  assert.equal(pw.requests.filter((r) => r.status === 429).length, 1);
});

test("502/504: bounded retries; a 504 that came after patchwork stored the check is not posted twice", async () => {
  const p = pw.series[0]!.patches[1]!.id;
  const c = client(pw.maintainerToken, { attempts: 3 });
  pw.failNext(2, 502);
  assert.equal((await applyPatchworkChecks(c, [plan(p, "pending", "patchbench-build", "build: queued")], log)).posted, 1);
  pw.failNext(1, 504, { after: true });
  const before = pw.checks.length;
  assert.equal((await applyPatchworkChecks(c, [plan(p, "success", "patchbench-build", "built")], log)).posted, 1);
  assert.equal(pw.checks.length, before + 1, "one check, though the POST was answered 504");
  pw.failNext(10, 504);
  await assert.rejects(applyPatchworkChecks(c, [plan(p, "fail", "patchbench-build", "build failed")], log), (e: Error & { code?: string }) => e.name === "PatchworkError" && e.code === "unavailable");
  assert.ok(pw.requests.slice(-3).every((r) => r.status === 504), "three attempts, not ten: the job's own backoff takes it from there");
  pw.clearFaults();
});

test("a wrong token is a clear error and not retried; a non-maintainer gets 403 and nothing is posted", async () => {
  const p = pw.series[1]!.patches[0]!.id;
  const n = pw.requests.length;
  await assert.rejects(applyPatchworkChecks(client("0".repeat(40)), [plan(p, "fail")], log), (e: Error & { code?: string }) => {
    assert.equal(e.code, "auth");
    assert.match(e.message, /refused the API token from env PATCHWORK_TOKEN/);
    assert.ok(!e.message.includes("0".repeat(40)), "the token is never in the message");
    return true;
  });
  assert.equal(pw.requests.length - n, 1, "one request, no retries");
  const before = pw.checks.length;
  await assert.rejects(applyPatchworkChecks(client(pw.userToken), [plan(p, "fail")], log), (e: Error & { code?: string }) => e.code === "forbidden" && /maintainer/.test(e.message));
  assert.equal(pw.checks.length, before);
  assert.equal(pw.requests.at(-1)!.status, 403);
  await assert.rejects(applyPatchworkChecks(client(null), [plan(p, "fail")], log), (e: Error & { code?: string }) => e.code === "auth");
  assert.equal(pw.checks.length, before, "without a token nothing is posted either");
});

test("a patch that disappeared (series deleted) is dropped with a log line; the others still get theirs", async () => {
  const [gone, kept] = [pw.series[0]!.patches[0]!.id, pw.series[1]!.patches[1]!.id];
  pw.deleteSeries(pw.series[0]!.id);
  const out = await applyPatchworkChecks(client(pw.maintainerToken), [plan(gone, "success", "patchbench-selftests"), plan(kept, "success", "patchbench-selftests")], log);
  assert.deepEqual(out, { posted: 1, unchanged: 0, droppedPatches: [gone] });
  assert.ok(lines.some((l) => l.patchId === gone && /no longer has this patch/.test(String(l.msg))));
});

test("the stand-in refuses what patchwork's description refuses: a context with '/' is a 400 and a recorded problem", async () => {
  const p = pw.series[1]!.patches[0]!.id;
  const n = pw.problems.length;
  await assert.rejects(applyPatchworkChecks(client(pw.maintainerToken), [plan(p, "success", "patchbench/apply")], log), (e: Error & { code?: string }) => e.code === "bad-request");
  const found = pw.problems.splice(n);
  assert.ok(found.some((x) => /checks_create: request body \/context must match pattern/.test(x)), found.join("\n"));
});

test("a stage that went pending and was then skipped is ended; where nothing was pending, a skip posts nothing", async () => {
  const p = pw.series[1]!.patches[1]!.id;
  const c = client(pw.maintainerToken);
  const skipped: PlannedCheck = { ...plan(p, "success", "patchbench-selftests", "not run: no selftests for this tree"), onlyOverPending: true };
  assert.equal((await applyPatchworkChecks(c, [skipped], log)).posted, 0);
  await applyPatchworkChecks(c, [plan(p, "pending", "patchbench-selftests", "selftests: running")], log);
  assert.equal((await applyPatchworkChecks(c, [skipped], log)).posted, 1);
  assert.equal(pw.checks.filter((x) => x.patchId === p && x.context === "patchbench-selftests").at(-1)!.state, "success");
});
