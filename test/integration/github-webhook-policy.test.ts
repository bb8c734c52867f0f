import assert from "node:assert/strict";
import { request } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { FlowProducer, Queue } from "bullmq";
import { type GithubAppService, MAX_WEBHOOK_BYTES, serveGithubApp } from "../../src/bot/serve-github-app.ts";
import { loadConfig } from "../../src/config/load-config.ts";
import { treeSchema } from "../../src/config/schema.ts";
import { git } from "../../src/lib/git.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { bullConnection } from "../../src/queue/redis-connection.ts";
import { getFlow } from "../../src/store/flow-repository.ts";
import { type Db, openStore } from "../../src/store/open-store.ts";
import { type FakeGithub, type FakePull, issueCommentPayload, pullRequestPayload, sendWebhook, startFakeGithub } from "../helpers/fake-github.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * The GitHub App in this process (so its memory can be measured) against
 * the fake GitHub and a real Redis: webhook size limits and what reaches
 * the log, refusals rate-limited, untrusted authors' PRs checks-only until
 * a maintainer's /bench, and a push withdrawing the old head's queued flows.
 * The tree's pool has no runner: flows stay queued, so withdrawal is seen.
 */
const OWNER = "octo";
const REPO = "linux";
const SECRET = "webhook-secret-for-policy-tests";
const MARKER = "PAYLOAD-MARKER-7f3a";

/** POST `total` bytes (chunked, or with a Content-Length) without holding them: the answer's status, or the socket error. */
function postHuge(url: string, total: number, declare: boolean): Promise<{ status: number | null; sent: number }> {
  return new Promise((resolve) => {
    const chunk = Buffer.alloc(64 * 1024, `{"x":"${MARKER}"}`);
    let sent = 0;
    let status: number | null = null;
    const req = request(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "push",
        "x-github-delivery": `huge-${declare ? "cl" : "chunked"}`,
        "x-hub-signature-256": "sha256=00",
        ...(declare ? { "content-length": String(total) } : {}),
      },
    });
    const done = () => resolve({ status, sent });
    req.on("response", (res) => {
      status = res.statusCode ?? null;
      res.resume();
      res.on("end", done);
    });
    req.on("error", () => done());
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      req.end();
    };
    pump();
  });
}

describe("GitHub App policy (in process: webhook limits, refusals, untrusted authors, synchronize)", () => {
  let dir: string;
  let redis: TestRedis;
  let gh: FakeGithub;
  let app: GithubAppService;
  let db: Db;
  let flows: FlowProducer;
  let pool: Queue;
  let bare = "";
  let head2 = "";
  let pull: FakePull;
  let logText = "";

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pb-ghpolicy-"));
    const work = join(dir, "work");
    await git(["init", "--quiet", "-b", "main", work]);
    writeFileSync(join(work, "filter.c"), "int a;\n");
    await git(["add", "filter.c"], { repo: work });
    await git(["commit", "--quiet", "-m", "base"], { repo: work });
    const baseSha = (await git(["rev-parse", "HEAD"], { repo: work })).stdout.trim();
    await git(["checkout", "--quiet", "-b", "topic"], { repo: work });
    const env = { GIT_AUTHOR_NAME: "New Comer", GIT_AUTHOR_EMAIL: "new@example.org" };
    writeFileSync(join(work, "filter.c"), "int a;\nint b;\n");
    await git(["commit", "--quiet", "-am", "net: add b\n\nSigned-off-by: New Comer <new@example.org>"], { repo: work, extraEnv: env });
    const head1 = (await git(["rev-parse", "HEAD"], { repo: work })).stdout.trim();
    writeFileSync(join(work, "filter.c"), "int a;\nint b = 1;\n");
    await git(["commit", "--quiet", "-am", "net: set b\n\nSigned-off-by: New Comer <new@example.org>"], { repo: work, extraEnv: env });
    head2 = (await git(["rev-parse", "HEAD"], { repo: work })).stdout.trim();
    await git(["checkout", "--quiet", "main"], { repo: work });
    bare = join(dir, "linux.git");
    await git(["clone", "--quiet", "--bare", work, bare]);
    await git(["update-ref", "refs/pull/7/head", head1], { repo: bare });
    pull = { number: 7, title: "net: add b", body: "", headSha: head1, baseSha, baseRef: "main", user: "newcomer", state: "open" };

    redis = await startTestRedis();
    gh = await startFakeGithub({ owner: OWNER, repo: REPO, bareRepo: bare, pulls: [pull] });
    const config = loadConfig({ flags: { dataDir: join(dir, "data"), redisUrl: redis.url } });
    config.trees = [
      treeSchema.parse({
        name: "gh",
        url: bare,
        path: work,
        branch: "main",
        pool: "idle",
        stages: ["apply", "bench"],
        suites: [],
        bench: { tests: ["TCP_RR"], sizes: [1], topologies: ["loopback"], rounds: 2, maxRounds: 2, runsPerRound: 1, durationSec: 1, warmup: false },
      }),
    ];
    config.global.defaultTree = "gh";
    config.global.trees = ["gh"];
    Object.assign(config.global.github, { enabled: true, port: 0, baseUrl: gh.url });
    Object.assign(config.global.github.bench, { pools: ["idle"], maxCells: 4, maxRounds: 4 });
    db = await openStore(config.paths.storePath);
    const connection = bullConnection({ host: "127.0.0.1", port: redis.port });
    flows = new FlowProducer({ connection, prefix: "patchbench" });
    pool = new Queue("pool-idle", { connection, prefix: "patchbench" });
    const sink = new Writable({
      write(c: Buffer, _e, cb) {
        logText += c.toString();
        cb();
      },
    });
    app = await serveGithubApp({
      config,
      settings: { appId: gh.appId, privateKey: gh.privateKey, webhookSecret: SECRET, baseUrl: gh.url },
      db,
      flows,
      redis: { host: "127.0.0.1", port: redis.port },
      log: createLogger({ level: "debug", destination: sink }),
      installationId: "policy",
    });
  });

  after(async () => {
    await app?.close();
    await flows?.close();
    await pool?.close();
    await db?.destroy();
    await gh?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("bodies over GitHub's 25 MB cap: 413 before buffering (Content-Length and chunked), memory flat, nothing of the body logged", async () => {
    const total = 100 * 1024 * 1024;
    // Content-Length over the cap: answered without reading the body.
    const declared = await postHuge(app.webhookUrl, total, true);
    assert.equal(declared.status, 413);
    // Chunked: counted while streaming, reading stops at the cap.
    globalThis.gc?.();
    const rss0 = process.memoryUsage().rss;
    const chunked = await postHuge(app.webhookUrl, total, false);
    const rss1 = process.memoryUsage().rss;
    assert.equal(chunked.status, 413);
    const grewMb = (rss1 - rss0) / 1024 / 1024;
    process.stderr.write(`# webhook 413: chunked ${total / 1024 / 1024} MB offered, ${(chunked.sent / 1024 / 1024).toFixed(0)} MB written by the client, RSS +${grewMb.toFixed(1)} MB\n`);
    // At most the 25 MB cap is ever held; the 100 MB body is not.
    assert.ok(grewMb < 60, `RSS grew by ${grewMb.toFixed(1)} MB`);
    assert.match(logText, /"deliveryId":"huge-chunked","event":"push","bytes":\d+,"declared":false,"msg":"webhook body over GitHub's 25 MB cap; refused with 413"/);
    assert.ok(MAX_WEBHOOK_BYTES === 25 * 1024 * 1024);

    // A bad signature (the old way a payload reached the log at error level): 400, payload not logged.
    const payload = { ...pullRequestPayload(gh, { owner: OWNER, repo: REPO, cloneUrl: bare, action: "opened", pull }), note: MARKER };
    assert.equal(await sendWebhook(app.webhookUrl, SECRET, "pull_request", "d-bad-sig", payload, "wrong-secret"), 400);
    await waitFor("the signature error in the log", () => /signature does not match/.test(logText));
    assert.ok(!logText.includes(MARKER), "no payload text in the log");
    assert.ok(logText.length < 64 * 1024, `log is ${logText.length} bytes`);
  });

  test("an untrusted author's PR runs apply + checks only; a stranger's /bench gets one refusal per day, then silence", async () => {
    const payload = pullRequestPayload(gh, { owner: OWNER, repo: REPO, cloneUrl: bare, action: "opened", pull, association: "FIRST_TIME_CONTRIBUTOR" });
    assert.equal(await sendWebhook(app.webhookUrl, SECRET, "pull_request", "d-open", payload), 200);
    const run = await waitFor("the check run", () => [...gh.checkRuns.values()].find((r) => r.head_sha === pull.headSha));
    const flowId = String(run.external_id);
    await waitFor("the apply job", () => pool.getJob(`${flowId}-apply`));
    assert.equal(await pool.getJob(`${flowId}-bench`), undefined, "no bench stage for an untrusted author");
    assert.match(String((run.output as { summary: string }).summary), /only apply and checks run\. bench run after a maintainer comments `\/bench`/);

    for (const [i, delivery] of ["d-str-1", "d-str-2", "d-str-3"].entries()) {
      const c = issueCommentPayload(gh, { owner: OWNER, repo: REPO, cloneUrl: bare, number: 7, commentId: 9100 + i, body: "/bench", login: "newcomer", association: "NONE" });
      assert.equal(await sendWebhook(app.webhookUrl, SECRET, "issue_comment", delivery, c), 200);
    }
    await waitFor("the three comments handled", () => (logText.match(/"msg":"github event handled"/g) ?? []).length >= 4);
    const refusals = [...gh.comments.values()].filter((c) => c.body.includes("@newcomer thank you"));
    assert.equal(refusals.length, 1, "one refusal, then silence");
    const silent = logText.split("\n").filter((l) => l.includes('"msg":"/bench refused; not answered"'));
    assert.equal(silent.length, 2);
    assert.ok(silent.every((l) => l.includes("refusal already sent to github:newcomer at octo/linux#7 today")));
    assert.deepEqual(gh.problems, []);
  });

  test("a maintainer's /bench approves the full run; a push withdraws the old head's queued flows and completes their check run as cancelled", async () => {
    const c = issueCommentPayload(gh, { owner: OWNER, repo: REPO, cloneUrl: bare, number: 7, commentId: 9200, body: "/bench rounds=2", login: "maint", association: "COLLABORATOR" });
    assert.equal(await sendWebhook(app.webhookUrl, SECRET, "issue_comment", "d-maint", c), 200);
    const ack = await waitFor("the acknowledgement", () => [...gh.comments.values()].find((x) => x.body.includes("queued, position")));
    const benchFlow = /patchbench:(flow-[0-9a-f]+)/.exec(ack.body)![1]!;
    await waitFor("the approved flow's bench job", () => pool.getJob(`${benchFlow}-bench`));
    const oldRun = [...gh.checkRuns.values()].find((r) => r.head_sha === pull.headSha)!;
    const oldFlow = String(oldRun.external_id);

    // Push: refs/pull/7/head moves to head2.
    await git(["update-ref", "refs/pull/7/head", head2], { repo: bare });
    gh.pulls.get(7)!.headSha = head2;
    const pushed = { ...pull, headSha: head2 };
    // The synchronize description wants a URI here.
    const payload = pullRequestPayload(gh, { owner: OWNER, repo: REPO, action: "synchronize", pull: pushed, cloneUrl: `file://${bare}`, association: "FIRST_TIME_CONTRIBUTOR" });
    assert.equal(await sendWebhook(app.webhookUrl, SECRET, "pull_request", "d-sync", payload), 200);
    const newRun = await waitFor("the new head's check run", () => [...gh.checkRuns.values()].find((r) => r.head_sha === head2));
    await waitFor("the old check run cancelled", () => oldRun.status === "completed");
    assert.equal(oldRun.conclusion, "cancelled");
    assert.equal((oldRun.output as { title: string }).title, "superseded");
    assert.equal(newRun.status, "queued");
    for (const f of [oldFlow, benchFlow]) {
      assert.equal(await pool.getJob(`${f}-apply`), undefined, `${f}: queued jobs removed`);
      assert.equal((await getFlow(db, f))?.status, "superseded");
    }
    assert.match(gh.comments.get(ack.id)!.body, /superseded — the pull request was updated \(new head `[0-9a-f]{12}`\) before the benchmark ran/);
    const newFlow = String(newRun.external_id);
    // The check run is created before the flow is enqueued: wait for the job, do not race it.
    await waitFor("the new head queued (checks only again: a push needs a new approval)", () => pool.getJob(`${newFlow}-apply`));
    assert.equal(await pool.getJob(`${newFlow}-bench`), undefined);
    assert.deepEqual(gh.problems, [], gh.problems.join("\n"));
  });
});
