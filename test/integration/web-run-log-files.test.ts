import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { linkSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { benchConsoleName } from "../../src/domain/artifact-log-names.ts";
import { exec } from "../../src/lib/exec.ts";
import { runViewSchema } from "../../src/web/web-view-schemas.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { prepareWebStore, startWebCli, type WebStore } from "../helpers/web-store.ts";

const MIB16 = 16 * 1024 * 1024;

/** The processes of this user holding `path` open (from /proc/<pid>/fd). */
function openedBy(path: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^[0-9]+$/.test(p))) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === path) found.push(`${pid}/${fd}`);
      } catch {}
    }
  }
  return found;
}

/**
 * `patchbench web` on a real store whose data dir also holds a runner's artifacts
 * (`<dataDir>/work/artifacts/<flow>/`, as a runner on the same host keeps them): whole logs from
 * there, stored tails where they are gone, and nothing else from the disk.
 */
describe("patchbench web: whole logs from this host's runner artifacts (real store, real HTTP)", () => {
  let redis: TestRedis;
  let dir: string;
  let store: WebStore;
  let web: Awaited<ReturnType<typeof startWebCli>>;
  let artifacts: string;
  let flowDir: string;
  /** The stored tails as served before any artifact exists. */
  const tails = new Map<string, string>();
  before(async () => {
    redis = await startTestRedis();
    dir = mkdtempSync(join(tmpdir(), "pb-web-logs-"));
    store = await prepareWebStore(dir, redis.url);
    web = await startWebCli(store.dataDir, redis.url);
    artifacts = join(store.dataDir, "work", "artifacts");
    flowDir = join(artifacts, store.bench.flowId);
    for (const name of ["build-base.log", "build-candidate.log", "console-base.log", "console-candidate.log"]) {
      tails.set(name, await (await get(`/api/runs/${store.bench.flowId}/logs/${name}`)).text());
    }
  });
  after(async () => {
    await web?.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const get = (path: string, init?: RequestInit) => fetch(new URL(path, web.url), { redirect: "manual", ...init });
  const logUrl = (name: string, flow = store.bench.flowId) => `/api/runs/${flow}/logs/${name}`;
  /** The console lines a stored tail carries (after its first line, which says where the whole file is). */
  const consoleTailOf = (name: string) => tails.get(name)!.slice(tails.get(name)!.indexOf("\n") + 1, -1);
  const view = async () => runViewSchema.parse(await (await get(`/api/runs/${store.bench.flowId}`)).json());

  test("whole files served from the flow's artifacts, listed with their sizes (every bench guest boot's console); a console written over by another boot stays its tail", async () => {
    rmSync(flowDir, { recursive: true, force: true });
    mkdirSync(flowDir, { recursive: true });
    const build = `$ make -j2 bzImage\nONLY-IN-THE-WHOLE-FILE\n${"  CC      net/core/dev.o\n".repeat(2000)}`;
    writeFileSync(join(flowDir, "build-candidate.log"), build);
    writeFileSync(join(flowDir, "console-candidate.log"), `[    0.000000] Linux version EARLY-LINE\r\n${consoleTailOf("console-candidate.log")}`);
    writeFileSync(join(flowDir, "console-base.log"), "a later boot's console, not the build stage's\n");
    const boots = { [benchConsoleName("base", 1)]: "base boot 1\n", [benchConsoleName("candidate", 1)]: "candidate boot 1\n", [benchConsoleName("candidate", 2)]: "candidate boot 2: after a panic\n" };
    for (const [name, text] of Object.entries(boots)) writeFileSync(join(flowDir, name), text);
    writeFileSync(join(flowDir, "bzImage-candidate"), "not a log");

    const v = await view();
    assert.deepEqual(
      v.logs.map((l) => [l.name, l.whole, l.bytes]),
      [
        ["build-base.log", false, Buffer.byteLength(tails.get("build-base.log")!)],
        ["build-candidate.log", true, Buffer.byteLength(build)],
        ["console-base.log", false, Buffer.byteLength(tails.get("console-base.log")!)],
        ["console-candidate.log", true, Buffer.byteLength(`[    0.000000] Linux version EARLY-LINE\r\n${consoleTailOf("console-candidate.log")}`)],
        ["console-bench-base-1.log", true, 12],
        ["console-bench-candidate-1.log", true, 17],
        ["console-bench-candidate-2.log", true, 32],
      ],
    );
    assert.equal(v.benchConsoles, null, "they are here");
    const runner = v.stages.find((s) => s.stage === "build")!.runner;
    assert.equal(v.logs[0]!.runner, runner);
    const html = await (await get(`/runs/${store.bench.flowId}`)).text();
    assert.ok(html.includes(`build of the base kernel (${v.logs[0]!.bytes} bytes, the last lines only: the full log stays on runner ${runner})`));
    assert.ok(html.includes(`console of the bench side candidate&#39;s guest, boot 2 (32 bytes, the whole log): <a href="${logUrl("console-bench-candidate-2.log")}" download>`));

    const r = await get(logUrl("build-candidate.log"));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(r.headers.get("x-content-type-options"), "nosniff");
    assert.equal(r.headers.get("content-disposition"), `attachment; filename="${store.bench.flowId}-build-candidate.log"`);
    assert.equal(r.headers.get("content-length"), String(Buffer.byteLength(build)));
    assert.equal(await r.text(), build);
    const head = await get(logUrl("build-candidate.log"), { method: "HEAD" });
    assert.equal(head.headers.get("content-length"), String(Buffer.byteLength(build)));
    assert.equal(await head.text(), "");
    assert.match(await (await get(logUrl("console-candidate.log"))).text(), /^\[ {4}0\.000000\] Linux version EARLY-LINE/);
    assert.equal(await (await get(logUrl("console-bench-candidate-2.log"))).text(), "candidate boot 2: after a panic\n");
    assert.equal(await (await get(logUrl("console-base.log"))).text(), tails.get("console-base.log"), "not that boot's file: the stored tail");
    assert.equal((await get(logUrl("bzImage-candidate"))).status, 404);
  });

  test("a file over 16 MiB: its last 16 MiB after a line saying what was left out", async () => {
    mkdirSync(flowDir, { recursive: true });
    const whole = Buffer.alloc(MIB16 + 1000, "x");
    whole.fill("A", 0, 1000);
    whole.write("THE-END\n", whole.length - 8);
    writeFileSync(join(flowDir, "build-candidate.log"), whole);
    const r = await get(logUrl("build-candidate.log"));
    assert.equal(r.status, 200);
    const body = Buffer.from(await r.arrayBuffer());
    const nl = body.indexOf("\n");
    assert.match(body.subarray(0, nl).toString(), new RegExp(`^# truncated: the first 1000 of ${whole.length} bytes are left out, the last ${MIB16} follow; the whole file is .*/artifacts/${store.bench.flowId}/build-candidate\\.log on this host$`));
    const rest = body.subarray(nl + 1);
    assert.equal(rest.length, MIB16);
    const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
    assert.equal(sha(rest), sha(whole.subarray(1000)));
    assert.equal(Number(r.headers.get("content-length")), body.length);
    const v = await view();
    assert.equal(v.logs.find((l) => l.name === "build-candidate.log")?.bytes, whole.length);
    // A reader that goes away after the first bytes, and a HEAD: the server keeps no descriptor of the file open.
    const ac = new AbortController();
    const partial = await get(logUrl("build-candidate.log"), { signal: ac.signal });
    await partial.body!.getReader().read();
    ac.abort();
    await get(logUrl("build-candidate.log"), { method: "HEAD" });
    const path = join(flowDir, "build-candidate.log");
    let holders = openedBy(path);
    for (let i = 0; i < 50 && holders.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      holders = openedBy(path);
    }
    assert.deepEqual(holders, []);
  });

  test("links and other files planted in the artifacts are never served: a symlink to /etc/passwd, a hard link, a FIFO, a linked flow folder", async () => {
    rmSync(flowDir, { recursive: true, force: true });
    mkdirSync(flowDir, { recursive: true });
    symlinkSync("/etc/passwd", join(flowDir, benchConsoleName("base", 1)));
    symlinkSync("/etc/passwd", join(flowDir, "build-base.log"));
    const outside = join(dir, "outside.log");
    writeFileSync(outside, "SECRET-OUTSIDE\n");
    linkSync(outside, join(flowDir, benchConsoleName("base", 2)));
    await exec(["mkfifo", join(flowDir, benchConsoleName("base", 3))], { timeoutMs: 5000 });
    for (const name of [benchConsoleName("base", 1), benchConsoleName("base", 2), benchConsoleName("base", 3)]) {
      const r = await get(logUrl(name));
      assert.equal(r.status, 404, name);
      assert.doesNotMatch(await r.text(), /root:|SECRET-OUTSIDE/, name);
    }
    const base = await (await get(logUrl("build-base.log"))).text();
    assert.equal(base, tails.get("build-base.log"), "a link in a stored log's place: its stored tail, not the link's target");
    assert.deepEqual((await view()).logs.filter((l) => l.whole), [], "none listed");
    // The flow's folder itself a link to a folder of logs elsewhere.
    rmSync(flowDir, { recursive: true, force: true });
    const elsewhere = join(dir, "elsewhere");
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, benchConsoleName("base", 1)), "SECRET-ELSEWHERE\n");
    symlinkSync(elsewhere, flowDir);
    const r = await get(logUrl(benchConsoleName("base", 1)));
    assert.equal(r.status, 404);
    assert.doesNotMatch(await r.text(), /SECRET-ELSEWHERE/);
    rmSync(flowDir, { force: true });
  });

  test("traversal names, another flow's file and a flow the store does not have: 404", async () => {
    mkdirSync(flowDir, { recursive: true });
    writeFileSync(join(flowDir, benchConsoleName("base", 1)), "bench flow's own\n");
    const other = join(artifacts, store.applied.flowId);
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, benchConsoleName("candidate", 7)), "OTHER-FLOW\n");
    mkdirSync(join(artifacts, "flow-ghost"), { recursive: true });
    writeFileSync(join(artifacts, "flow-ghost", benchConsoleName("base", 1)), "GHOST\n");
    assert.equal(await (await get(logUrl(benchConsoleName("candidate", 7), store.applied.flowId))).text(), "OTHER-FLOW\n", "its own flow serves it");
    for (const p of [
      logUrl(benchConsoleName("candidate", 7)),
      `/api/runs/${store.bench.flowId}/logs/..%2F${store.applied.flowId}%2F${benchConsoleName("candidate", 7)}`,
      `/api/runs/${store.bench.flowId}/logs/console-..%2F..%2F..%2Fpatchbench.sqlite`,
      `/api/runs/${store.bench.flowId}/logs/%2e%2e`,
      `/api/runs/${store.bench.flowId}/logs/console-bench-base-1.log%00`,
      `/api/runs/${store.bench.flowId}/logs/console-bench-base-1.log/..`,
      `/api/runs/${store.bench.flowId}/logs/${benchConsoleName("base", 1)}/x`,
      `/api/runs/..%2F${store.applied.flowId}/logs/${benchConsoleName("candidate", 7)}`,
      `/api/runs/${store.bench.flowId}%2F..%2F${store.applied.flowId}/logs/${benchConsoleName("candidate", 7)}`,
      "/api/runs/flow-ghost/logs/console-bench-base-1.log",
      "/api/runs/../logs/console-bench-base-1.log",
    ]) {
      const r = await get(p);
      assert.equal(r.status, 404, p);
      assert.doesNotMatch(await r.text(), /OTHER-FLOW|GHOST|SQLite format/, p);
    }
    assert.equal(await (await get(logUrl(benchConsoleName("base", 1)))).text(), "bench flow's own\n");
  });

  test("artifacts gone (retention, or a runner on another host): the stored tails, saying which runner keeps the whole file", async () => {
    rmSync(flowDir, { recursive: true, force: true });
    const v = await view();
    assert.deepEqual(v.logs.map((l) => [l.name, l.whole]), [["build-base.log", false], ["build-candidate.log", false], ["console-base.log", false], ["console-candidate.log", false]]);
    const r = await get(logUrl("build-candidate.log"));
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-disposition") ?? "", /^inline; /);
    assert.equal(await r.text(), tails.get("build-candidate.log"));
    assert.match(tails.get("build-candidate.log")!, /^# candidate kernel at [0-9a-f]+: .*the whole log: \S+ on runner \S+\)\n/);
    assert.equal((await get(logUrl(benchConsoleName("candidate", 2)))).status, 404);
    const html = await (await get(`/runs/${store.bench.flowId}`)).text();
    assert.match(html, /console of the candidate kernel on qemu \(\d+ bytes, the last lines only: the full log stays on runner [^)]+\)/);
    assert.deepEqual(v.benchConsoles, { runner: v.stages.find((s) => s.stage === "bench")!.runner, boots: 3 });
    assert.ok(html.includes(`The bench guests' consoles (3 boots) stay on runner ${v.benchConsoles?.runner}: a dashboard on its host serves them.`));
  });
});
