import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Queue } from "bullmq";
import { reportJobId } from "../../src/queue/job-ids.ts";
import { ORCHESTRATOR_QUEUE } from "../../src/queue/queue-names.ts";
import { bullConnection } from "../../src/queue/redis-connection.ts";
import { assembleMailbox, syntheticMessageId } from "../../src/ingest/mail/assemble-mailbox.ts";
import { getCursor, setCursor } from "../../src/store/cursor-repository.ts";
import { createFlowIfAbsent, getFlow, setFlowStatus } from "../../src/store/flow-repository.ts";
import { openStore } from "../../src/store/open-store.ts";
import { quarantineMessage } from "../../src/store/quarantine-repository.ts";
import { listRawMailsSince, saveSeries } from "../../src/store/series-repository.ts";
import { quarantineViewSchema, queueViewSchema, runViewSchema } from "../../src/web/web-view-schemas.ts";
import { fixturePath } from "../helpers/fixtures.ts";
import { onePatchSeries } from "../helpers/one-patch-series.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { startWebCli } from "../helpers/web-store.ts";

const TOKEN = "s3cret-admin-token-0123456789";
const withoutMessageId = Buffer.from(
  readFileSync(fixturePath("mail", "bpf-sysctl-get-name", "v1", "00-single-patch.eml"), "utf8").replace(/^Message-ID: <[^>]*>\r?\n/im, ""),
);

/** The admin forms of `patchbench web`: the token from the environment, same-origin posts only, real queue operations. */
describe("dashboard admin actions (token from env, CSRF-safe)", () => {
  let redis: TestRedis;
  let dir: string;
  let web: Awaited<ReturnType<typeof startWebCli>>;
  let plain: Awaited<ReturnType<typeof startWebCli>>;
  before(async () => {
    redis = await startTestRedis();
    dir = mkdtempSync(join(tmpdir(), "pb-web-admin-"));
    const db = await openStore(join(dir, "patchbench.sqlite"));
    try {
      await saveSeries(db, onePatchSeries({ id: "series-a", title: "net: a queued one" }), new Map());
      await createFlowIfAbsent(db, { id: "flow-queued", seriesId: "series-a", tree: "bpf-next", base: null, plan: "{}" });
      await createFlowIfAbsent(db, { id: "flow-done", seriesId: "series-a", tree: "bpf-next", base: null, plan: "{}" });
      await setFlowStatus(db, "flow-done", "pass", true);
      // A finished run whose series' mail is stored, in an installation that planned flows: it can run again.
      await setCursor(db, "installation", "id", "webadmin0001");
      const patch = readFileSync(fixturePath("mail", "bpf-sysctl-get-name", "v1", "00-single-patch.eml"));
      const again = onePatchSeries({ id: "series-r", title: "net: run me again", patches: [{ index: 1, messageId: "r1@x", subject: "[PATCH] net: run me again", author: "A <a@x>" }] });
      await saveSeries(db, again, new Map([["r1@x", patch]]));
      await createFlowIfAbsent(db, { id: "flow-r-queued", seriesId: "series-r", tree: "bpf-next", base: null, plan: "{}" });
      await createFlowIfAbsent(db, { id: "flow-r-done", seriesId: "series-r", tree: "bpf-next", base: null, plan: JSON.stringify({ bench: { rounds: 4 } }) });
      await setFlowStatus(db, "flow-r-done", "pass", true);
      // As the poller keeps them: a real patch mail that came without a Message-ID (bytes kept), and one too big to keep.
      await quarantineMessage(db, { messageId: null, reason: "no Message-ID", source: "maildir:/list", raw: withoutMessageId });
      await quarantineMessage(db, { messageId: "big@example.org", reason: "message of 17000000 bytes exceeds the 16777216-byte limit", source: "maildir:/list", raw: null });
    } finally {
      await db.destroy();
    }
    web = await startWebCli(dir, redis.url, { PATCHBENCH_WEB_ADMIN_TOKEN: TOKEN });
    plain = await startWebCli(dir, redis.url, { PATCHBENCH_WEB_ADMIN_TOKEN: "" });
  });
  after(async () => {
    await web?.stop();
    await plain?.stop();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const post = (base: string, path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(new URL(path, base), { method: "POST", redirect: "manual", body, headers: { "content-type": "application/x-www-form-urlencoded", ...headers } });
  const run = async (id: string) => runViewSchema.parse(await (await fetch(`${web.url}/api/runs/${id}`)).json());

  test("without a token in the environment there is no admin: no forms, posts refused as read-only", async () => {
    assert.doesNotMatch(await (await fetch(`${plain.url}/runs/flow-queued`)).text(), /<form class="admin"/);
    assert.equal((await post(plain.url, "/admin/runs/flow-queued/cancel", `token=${TOKEN}`)).status, 405);
    assert.equal((await run("flow-queued")).flow.status, "queued");
  });

  test("refused: no token, a wrong one, another site's form (Origin or Sec-Fetch-Site), an oversized body", async () => {
    assert.match(await (await fetch(`${web.url}/runs/flow-queued`)).text(), /<form class="admin" method="post" action="\/admin\/runs\/flow-queued\/cancel">/);
    assert.equal((await post(web.url, "/admin/runs/flow-queued/cancel", "")).status, 403);
    assert.equal((await post(web.url, "/admin/runs/flow-queued/cancel", "token=wrong")).status, 403);
    assert.equal((await post(web.url, "/admin/runs/flow-queued/cancel", `token=${TOKEN}`, { origin: "https://evil.example" })).status, 403);
    assert.equal((await post(web.url, "/admin/runs/flow-queued/cancel", `token=${TOKEN}`, { "sec-fetch-site": "cross-site" })).status, 403);
    assert.equal((await post(web.url, "/admin/runs/flow-queued/cancel", `token=${TOKEN}&x=${"a".repeat(5000)}`)).status, 413);
    assert.equal((await run("flow-queued")).flow.status, "queued");
  });

  test("every action (cancel, re-run, pause, resume, release) refused alike: no token, a wrong one, another site's form, a same-site one; nothing changes", async () => {
    const flowsOf = async () => {
      const db = await openStore(join(dir, "patchbench.sqlite"));
      try {
        return (await db.selectFrom("flows").select(["id", "status"]).orderBy("id").execute()).map((f) => `${f.id}:${f.status}`);
      } finally {
        await db.destroy();
      }
    };
    const state = async () => ({
      flows: await flowsOf(),
      paused: queueViewSchema.parse(await (await fetch(`${web.url}/api/queue`)).json()).state.queues.find((q) => q.name === "pool-local")?.paused,
      quarantined: quarantineViewSchema.parse(await (await fetch(`${web.url}/api/quarantine`)).json()).items.map((q) => q.id),
    });
    const before = await state();
    const kept = quarantineViewSchema.parse(await (await fetch(`${web.url}/api/quarantine`)).json()).items.find((q) => q.kept)!;
    const paths = ["/admin/runs/flow-queued/cancel", "/admin/runs/flow-r-done/rerun", "/admin/pools/local/pause", "/admin/pools/local/resume", `/admin/quarantine/${kept.id}/release`];
    const origin = new URL(web.url).origin;
    for (const path of paths) {
      for (const [body, headers, why] of [
        ["", { origin }, "no token"],
        ["token=wrong", { origin }, "a wrong token"],
        [`token=${TOKEN}`, { origin: "https://evil.example", "sec-fetch-site": "cross-site" }, "another site's form"],
        [`token=${TOKEN}`, { "sec-fetch-site": "same-site" }, "a sibling subdomain's form"],
        [`token=${TOKEN}`, { origin: "null" }, "an opaque origin (sandboxed frame, data: page)"],
      ] as const) {
        const r = await post(web.url, path, body, headers);
        assert.equal(r.status, 403, `${path}: ${why}`);
      }
      assert.equal((await fetch(new URL(path, web.url), { redirect: "manual" })).status, 404, `${path}: a GET does nothing`);
    }
    assert.deepEqual(await state(), before);
  });

  test("cancel an unfinished run from its page: 303 back to it, cancelled in the store; a finished run is left as it was", async () => {
    const origin = new URL(web.url).origin;
    const r = await post(web.url, "/admin/runs/flow-queued/cancel", `token=${TOKEN}`, { origin, "sec-fetch-site": "same-origin" });
    assert.equal(r.status, 303);
    assert.equal(r.headers.get("location"), "/runs/flow-queued");
    const after = await run("flow-queued");
    assert.equal(after.flow.status, "cancelled");
    assert.ok(after.flow.finishedAt);
    const done = await post(web.url, "/admin/runs/flow-done/cancel", `token=${TOKEN}`);
    assert.equal(done.status, 303);
    assert.match(await done.text(), /has finished \(pass\); nothing to cancel/);
    assert.equal((await run("flow-done")).flow.status, "pass");
  });

  test("run a finished run again from its page: a fresh flow of its series with the stored plan's bench, queued in Redis; an unfinished run is not", async () => {
    assert.match(await (await fetch(`${web.url}/runs/flow-r-done`)).text(), /action="\/admin\/runs\/flow-r-done\/rerun"/);
    const r = await post(web.url, "/admin/runs/flow-r-done/rerun", `token=${TOKEN}`, { origin: new URL(web.url).origin });
    assert.equal(r.status, 303);
    assert.equal(r.headers.get("location"), "/runs/flow-r-done");
    const said = /runs again as (flow-\S+-rerun-[0-9a-z]+)/.exec(await r.text());
    assert.ok(said, "the answer names the new run");
    const fresh = await run(said[1]!);
    assert.equal(fresh.flow.status, "queued");
    const reports = new Queue(ORCHESTRATOR_QUEUE, { connection: bullConnection({ host: "127.0.0.1", port: redis.port }), prefix: "patchbench" });
    try {
      const job = await reports.getJob(reportJobId(said[1]!));
      assert.ok(job, "its report job is in Redis");
    } finally {
      await reports.close();
    }
    const db = await openStore(join(dir, "patchbench.sqlite"));
    try {
      const plan = JSON.parse((await getFlow(db, said[1]!))!.plan) as { bench: { rounds: number } };
      assert.equal(plan.bench.rounds, 4, "the stored plan's bench, not the tree's default");
    } finally {
      await db.destroy();
    }
    const queued = await post(web.url, "/admin/runs/flow-r-queued/rerun", `token=${TOKEN}`);
    assert.match(await queued.text(), /flow-r-queued has not finished \(queued\); nothing to run again/);
  });

  test("pause and resume a pool's queue in Redis, seen on the queue page", async () => {
    const paused = async () => queueViewSchema.parse(await (await fetch(`${web.url}/api/queue`)).json()).state.queues.find((q) => q.name === "pool-local")?.paused;
    assert.equal(await paused(), false);
    const r = await post(web.url, "/admin/pools/local/pause", `token=${TOKEN}`);
    assert.equal(r.status, 303);
    assert.equal(r.headers.get("location"), "/queue");
    assert.equal(await paused(), true);
    assert.match(await (await fetch(`${web.url}/queue`)).text(), /action="\/admin\/pools\/local\/resume"/);
    assert.equal((await post(web.url, "/admin/pools/local/resume", `token=${TOKEN}`)).status, 303);
    assert.equal(await paused(), false);
    assert.equal((await post(web.url, "/admin/pools/..%2F/pause", `token=${TOKEN}`)).status, 405, "not an admin path: the read-only answer");
  });

  test("release a quarantined mail: refused without the token; its bytes join the stored mail under a synthetic Message-ID and the next poll assembles them; a mail not kept cannot be", async () => {
    const list = async () => quarantineViewSchema.parse(await (await fetch(`${web.url}/api/quarantine`)).json()).items;
    const [big, kept] = await list();
    assert.equal(kept?.kept, true);
    assert.equal(big?.kept, false);
    const page = await (await fetch(`${web.url}/quarantine`)).text();
    assert.match(page, new RegExp(`<form class="admin" method="post" action="/admin/quarantine/${kept!.id}/release">`));
    assert.doesNotMatch(page, new RegExp(`/admin/quarantine/${big!.id}/release`), "nothing to release: no form");
    assert.doesNotMatch(await (await fetch(`${plain.url}/quarantine`)).text(), /<form class="admin"/);
    assert.equal((await post(web.url, `/admin/quarantine/${kept!.id}/release`, "token=wrong")).status, 403);
    assert.equal((await post(web.url, `/admin/quarantine/${kept!.id}/release`, `token=${TOKEN}`, { origin: "https://evil.example" })).status, 403);
    assert.equal((await list()).length, 2);

    const r = await post(web.url, `/admin/quarantine/${kept!.id}/release`, `token=${TOKEN}`, { origin: new URL(web.url).origin });
    assert.equal(r.status, 303);
    assert.equal(r.headers.get("location"), "/quarantine");
    const id = syntheticMessageId(withoutMessageId);
    assert.equal(await r.text(), `mail ${kept!.id} released as <${id}>; the next poll reads it\n`);
    assert.deepEqual((await list()).map((q) => q.id), [big!.id]);
    const again = await post(web.url, `/admin/quarantine/${kept!.id}/release`, `token=${TOKEN}`);
    assert.match(await again.text(), /no quarantined mail/);
    assert.match(await (await post(web.url, `/admin/quarantine/${big!.id}/release`, `token=${TOKEN}`)).text(), /was not kept \(message of 17000000 bytes.*nothing to release/);

    const db = await openStore(join(dir, "patchbench.sqlite"));
    try {
      assert.equal(await getCursor(db, "ingest", "next-deadline"), "1", "the next poll assembles the window, new mail or not");
      // The re-run test's stored patch (r1@x) aside: what came in is the released mail alone.
      const mails = (await listRawMailsSince(db, new Date(Date.now() - 3600_000).toISOString())).filter((m) => m.messageId !== "r1@x");
      assert.deepEqual(mails.map((m) => m.messageId), [id]);
      // What the next poll does with the window: one series, its report kept from the list.
      const box = await assembleMailbox(mails.map((m) => m.raw));
      assert.equal(box.series.length, 1);
      assert.equal(box.series[0]?.patches[0]?.messageId, id);
      assert.equal(box.series[0]?.syntheticMessageIds, true);
    } finally {
      await db.destroy();
    }
  });
});
