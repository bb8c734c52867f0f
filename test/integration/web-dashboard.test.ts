import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { openStore } from "../../src/store/open-store.ts";
import { queueViewSchema, runViewSchema, seriesListViewSchema, seriesViewSchema } from "../../src/web/web-view-schemas.ts";
import { getWithHost } from "../helpers/get-with-host.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { prepareWebStore, startWebCli, type WebStore } from "../helpers/web-store.ts";

/**
 * `patchbench web` as a separate process on a real SQLite store: a flow the CLI reviewed through
 * Redis and git, a recorded kernel A/B flow stored through the repositories, a hostile series.
 * Everything fetched over HTTP as a browser or a script would.
 */
describe("patchbench web (real store, real reviewed flow, real HTTP)", () => {
  let redis: TestRedis;
  let dir: string;
  let store: WebStore;
  let web: Awaited<ReturnType<typeof startWebCli>>;
  before(async () => {
    redis = await startTestRedis();
    dir = mkdtempSync(join(tmpdir(), "pb-web-"));
    store = await prepareWebStore(dir, redis.url);
    web = await startWebCli(store.dataDir, redis.url);
  });
  after(async () => {
    await web?.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const get = (path: string, init?: RequestInit) => fetch(new URL(path, web.url), { redirect: "manual", ...init });

  test("series list: every stored series newest first, as HTML and as JSON that passes its schema; filters and search narrow it", async () => {
    const page = await get("/series");
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    const body = await page.text();
    assert.match(body, new RegExp(`href="/runs/${store.applied.flowId}"`));
    assert.match(body, new RegExp(`href="/series/${store.bench.seriesId}"`));
    const all = seriesListViewSchema.parse(await (await get("/api/series")).json());
    assert.equal(all.total, 4);
    assert.equal(all.items[0]?.id, store.hostile.id, "newest first");
    const pass = seriesListViewSchema.parse(await (await get("/api/series?verdict=pass")).json());
    assert.deepEqual(pass.items.map((i) => i.id).sort(), [store.applied.seriesId, store.bench.seriesId].sort());
    const queued = seriesListViewSchema.parse(await (await get("/api/series?state=queued")).json());
    assert.equal(queued.total, 0);
    const search = seriesListViewSchema.parse(await (await get(`/api/series?q=${encodeURIComponent("BUSY-POLL skips")}`)).json());
    assert.deepEqual(search.items.map((i) => i.id).sort(), [store.bench.seriesId, store.bench.v2].sort());
    const byAuthor = seriesListViewSchema.parse(await (await get("/api/series?q=evil%40example.org")).json());
    assert.deepEqual(byAuthor.items.map((i) => i.id), [store.hostile.id]);
    const netdev = seriesListViewSchema.parse(await (await get("/api/series?list=netdev.vger.kernel.org")).json());
    assert.deepEqual(netdev.items.map((i) => i.id).sort(), [store.bench.seriesId, store.bench.v2].sort(), "the series whose mails came through that list");
    const badList = await get("/api/series?list=%3Cnetdev%3E");
    assert.equal(badList.status, 400);
    assert.match(((await badList.json()) as { error: string }).error, /^list: a mailing list's List-Id without angle brackets/);
    const literal = seriesListViewSchema.parse(await (await get("/api/series?q=%25")).json());
    assert.equal(literal.total, 0, "% is searched for, not a wildcard");
  });

  test("series page: versions side by side, each with its run and cells, and what changed since v1", async () => {
    const r = await get(`/api/series/${store.bench.v2}`);
    assert.equal(r.status, 200);
    const view = seriesViewSchema.parse(await r.json());
    assert.deepEqual(view.versions.map((v) => v.version), [1, 2]);
    assert.equal(view.versions[0]?.cells.length, store.bench.cells);
    assert.equal(view.versions[1]?.cells.length, store.bench.cells);
    assert.deepEqual(view.versions.map((v) => v.flow?.id), [store.bench.flowId, store.bench.v2FlowId]);
    const html = await (await get(`/series/${store.bench.v2}`)).text();
    assert.match(html, /<th><a href="\/series\/series-[0-9a-f]+">v1<\/a><br><a href="\/runs\/flow-/);
    assert.match(html, /<h3>Since v1<\/h3>\n<ul class="changes"><li>v2: -20\.\d% regression on TCP_RR loopback 1 B \(v1: -0\.9% no change\)<\/li><\/ul>/);
    assert.match(html, /https:\/\/lore\.kernel\.org\/all\//);
  });

  test("run pages: the reviewed apply flow and the bench flow with its chart; raw samples as JSON and CSV", async () => {
    const applied = runViewSchema.parse(await (await get(`/api/runs/${store.applied.flowId}`)).json());
    assert.deepEqual(applied.stages.map((s) => [s.stage, s.status]), [["apply", "pass"]]);
    assert.ok((applied.stages[0]?.durationSec ?? -1) >= 0);
    const bench = runViewSchema.parse(await (await get(`/api/runs/${store.bench.flowId}`)).json());
    assert.equal(bench.cells.length, store.bench.cells);
    assert.equal(bench.samples.count, store.bench.samples);
    assert.ok((bench.machine?.commands.length ?? 0) > 0 && Object.keys(bench.machine?.profile ?? {}).length > 0, "the machine and the commands to repeat a run");
    const html = await (await get(`/runs/${store.bench.flowId}`)).text();
    assert.match(html, /<h2>Machine<\/h2>[\s\S]*<h2>Reproduce by hand/);
    assert.equal(html.match(/<circle class="point"/g)?.length, store.bench.cells);
    const csv = await get(bench.samples.csv);
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get("content-disposition") ?? "", /attachment; filename="flow-[0-9a-f]+-samples\.csv"/);
    assert.equal((await csv.text()).trim().split("\r\n").length, store.bench.samples + 1);
    const json = (await (await get(bench.samples.json)).json()) as { samples: unknown[] };
    assert.equal(json.samples.length, store.bench.samples);
  });

  test("run page logs: the kernel builds' logs and the QEMU consoles as plain text to view or download; only a flow's own, by names from a closed set", async () => {
    const bench = runViewSchema.parse(await (await get(`/api/runs/${store.bench.flowId}`)).json());
    assert.deepEqual(bench.logs.map((l) => l.name), ["build-base.log", "build-candidate.log", "console-base.log", "console-candidate.log"]);
    const html = await (await get(`/runs/${store.bench.flowId}`)).text();
    for (const l of bench.logs) assert.ok(html.includes(`<a href="${l.url}" download>download</a>`), l.name);
    const consoleLog = await get(bench.logs.find((l) => l.name === "console-candidate.log")!.url);
    assert.equal(consoleLog.status, 200);
    assert.equal(consoleLog.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(consoleLog.headers.get("x-content-type-options"), "nosniff");
    assert.match(consoleLog.headers.get("content-disposition") ?? "", /^inline; filename="flow-[0-9a-f]+-console-candidate\.log"$/);
    const text = await consoleLog.text();
    assert.match(text, /^# candidate kernel on qemu: ok/);
    assert.match(text, /Unpacking initramfs\.\.\./, "the guest's own console lines");
    assert.equal(Buffer.byteLength(text), bench.logs.find((l) => l.name === "console-candidate.log")!.bytes);
    assert.match(await (await get(`/api/runs/${store.bench.flowId}/logs/build-candidate.log`)).text(), /LD {6}vmlinux/);
    // The apply-only flow has no kernel logs, and another flow's log is not reachable through it.
    const applied = runViewSchema.parse(await (await get(`/api/runs/${store.applied.flowId}`)).json());
    assert.deepEqual(applied.logs, []);
    assert.match(await (await get(`/runs/${store.applied.flowId}`)).text(), /No logs: this run built and booted no kernel/);
    for (const p of [
      `/api/runs/${store.applied.flowId}/logs/build-base.log`,
      `/api/runs/flow-nope/logs/build-base.log`,
      `/api/runs/${store.bench.flowId}/logs/qemu-base.log`,
      `/api/runs/${store.bench.flowId}/logs/..%2F..%2Fpatchbench.sqlite`,
      `/api/runs/${store.bench.flowId}/logs/%2e%2e`,
      `/api/runs/${store.bench.flowId}/logs/build-base.log/..`,
      `/runs/${store.bench.flowId}/logs/build-base.log`,
    ]) {
      const r = await get(p);
      assert.equal(r.status, 404, p);
      assert.doesNotMatch(await r.text(), /SQLite format|vmlinux/, p);
    }
  });

  test("queue page: jobs per queue from the service's Redis, no unfinished flow once the review is done", async () => {
    const view = queueViewSchema.parse(await (await get("/api/queue")).json());
    assert.equal(view.state.available, true, view.state.reason ?? "");
    assert.deepEqual(view.state.queues.map((q) => q.name), ["orchestrator", "pool-local"]);
    for (const q of view.state.queues) assert.equal(q.counts.active, 0, q.name);
    assert.deepEqual(view.unfinished, []);
    const html = await (await get("/queue")).text();
    assert.match(html, /<h2>Jobs per queue<\/h2>/);
  });

  test("bad input: 404 for unknown ids and paths, 400 naming what is allowed, 405 for writes, no traversal; the server stays up", async () => {
    assert.equal((await get("/runs/flow-nope")).status, 404);
    assert.equal((await get("/api/series/nope")).status, 404);
    const bad = await get("/api/series?verdict=great");
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), { error: "verdict: one of pass, warn, fail, error, skip" });
    const post = await get("/series", { method: "POST", body: "x" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
    for (const p of ["/runs/..%2F..%2Fpatchbench.sqlite", "/api/runs/%2e%2e/samples.csv", "/../patchbench.sqlite", "/static/../../etc/passwd"]) {
      const r = await get(p);
      assert.equal(r.status, 404, p);
      assert.doesNotMatch(await r.text(), /SQLite format|root:/);
    }
    const head = await get("/series", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
    assert.equal((await get("/")).status, 302);
    assert.equal((await getWithHost(web.url, "/api/series", `rebind.attacker.example:${new URL(web.url).port}`)).status, 421, "a DNS-rebinding page's Host");
    assert.equal((await get("/series")).status, 200, "still serving");
  });

  test("mail text is escaped: the hostile series' subject and author appear as text only", async () => {
    const list = await (await get("/series")).text();
    const page = await (await get(`/series/${store.hostile.id}`)).text();
    for (const html of [list, page]) {
      assert.doesNotMatch(html, /<script|<img|<svg onload|<iframe/i);
      assert.match(html, /&lt;script&gt;document\.title=&quot;pwned&quot;&lt;\/script&gt;/);
    }
  });

  test("a row that no longer parses: its page is a 500 (logged), the list still shows it, the server serves on", async () => {
    // Written past the repositories on purpose: what a damaged or hand-edited store may hold.
    const db = await openStore(join(store.dataDir, "patchbench.sqlite"));
    try {
      await db.insertInto("series").values({ id: "series-broken", source: "mail", title: "x", version: 1, tree: null, data: "{not json", created_at: "2000-01-01T00:00:00.000Z" }).execute();
    } finally {
      await db.destroy();
    }
    const page = await get("/series/series-broken");
    assert.equal(page.status, 500);
    assert.match(await page.text(), /the page failed; the log has the reason/);
    assert.equal((await get("/api/series/series-broken")).status, 500);
    const list = seriesListViewSchema.parse(await (await get("/api/series")).json());
    assert.equal(list.items.at(-1)?.title, "(the stored series is unreadable)");
    assert.equal((await get(`/runs/${store.bench.flowId}`)).status, 200);
  });
});
