import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { FlowProducer, Queue } from "bullmq";
import { type GithubAppService, MAX_WEBHOOK_BYTES, serveGithubApp } from "../../src/bot/serve-github-app.ts";
import { loadConfig } from "../../src/config/load-config.ts";
import { treeSchema } from "../../src/config/schema.ts";
import { git } from "../../src/lib/git.ts";
import { createLogger, silentLogger } from "../../src/lib/logger.ts";
import { stageJobSchema } from "../../src/queue/payloads.ts";
import { bullConnection } from "../../src/queue/redis-connection.ts";
import { applySeries } from "../../src/runner/apply/apply-series.ts";
import { getFlow } from "../../src/store/flow-repository.ts";
import { type Db, openStore } from "../../src/store/open-store.ts";
import { type FakeGithub, type FakePull, issueCommentPayload, pullRequestPayload, sendWebhook, startFakeGithub } from "../helpers/fake-github.ts";
import type { TestRedis } from "../helpers/redis-server.ts";
import type { AttackRow } from "./format-attack-table.ts";
import { probeAttack } from "./probe-attack.ts";
import { runPullAbuseAttacks } from "./run-pull-abuse-attacks.ts";
import { waitFor } from "../helpers/wait-for.ts";

const OWNER = "octo";
const REPO = "linux";
const SECRET = "security-suite-webhook-secret";

/** POST `total` bytes (chunked, or declared by Content-Length) without holding them; the answer's status. */
function postBig(url: string, total: number, declare: boolean, delivery: string): Promise<number | null> {
  return new Promise((resolve) => {
    const chunk = Buffer.alloc(64 * 1024, '{"x":"y"}');
    let sent = 0;
    let status: number | null = null;
    const headers = { "content-type": "application/json", "x-github-event": "push", "x-github-delivery": delivery, "x-hub-signature-256": "sha256=00" };
    const req = request(url, { method: "POST", headers: declare ? { ...headers, "content-length": String(total) } : headers });
    req.on("response", (res) => {
      status = res.statusCode ?? null;
      res.resume();
      res.on("end", () => resolve(status));
    });
    req.on("error", () => resolve(status));
    const pump = () => {
      while (sent < total) {
        const part = chunk.subarray(0, Math.min(chunk.length, total - sent));
        sent += part.length;
        if (!req.write(part)) return void req.once("drain", pump);
      }
      req.end();
    };
    pump();
  });
}

/**
 * The GitHub App in this process (serveGithubApp: Probot's signature check,
 * the 25 MB cap, delivery-id claims in Redis, the github queue and its
 * worker) against the OpenAPI-checked fake GitHub and a real Redis. The
 * tree's pool has no runner: queued stages stay visible; the apply stage of
 * the hostile PR is then run here by the runner's own applySeries.
 */
export async function runWebhookAttacks(redis: TestRedis): Promise<AttackRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "pb-sec-gh-"));
  const marker = join(dir, "pwned");
  const meta = `$(touch ${marker}) \`touch ${marker}\`; touch ${marker} | touch ${marker} && touch ${marker}`;
  let app: GithubAppService | undefined;
  let gh: FakeGithub | undefined;
  let db: Db | undefined;
  let flows: FlowProducer | undefined;
  let pool: Queue | undefined;
  let logText = "";
  try {
    const work = join(dir, "work");
    await git(["init", "--quiet", "-b", "main", work]);
    writeFileSync(join(work, "filter.c"), "int a;\n");
    await git(["add", "filter.c"], { repo: work });
    await git(["commit", "--quiet", "-m", "base"], { repo: work });
    const baseSha = (await git(["rev-parse", "HEAD"], { repo: work })).stdout.trim();
    await git(["checkout", "--quiet", "-b", "topic"], { repo: work });
    writeFileSync(join(work, "filter.c"), "int a;\nint b;\n");
    const subject = `net: ${meta}`;
    await git(["commit", "--quiet", "-am", `${subject}\n\nSigned-off-by: New Comer <new@example.org>`], { repo: work });
    const head = (await git(["rev-parse", "HEAD"], { repo: work })).stdout.trim();
    await git(["checkout", "--quiet", "main"], { repo: work });
    const bare = join(dir, "linux.git");
    await git(["clone", "--quiet", "--bare", work, bare]);
    await git(["update-ref", "refs/pull/7/head", head], { repo: bare });
    const pull: FakePull = { number: 7, title: subject, body: meta, headSha: head, baseSha, baseRef: "main", user: "newcomer", state: "open" };

    gh = await startFakeGithub({ owner: OWNER, repo: REPO, bareRepo: bare, pulls: [pull] });
    const config = loadConfig({ flags: { dataDir: join(dir, "data"), redisUrl: redis.url } });
    config.trees = [treeSchema.parse({ name: "gh", url: bare, path: work, branch: "main", pool: "sec-idle", stages: ["apply", "build", "bench"], suites: [] })];
    config.global.defaultTree = "gh";
    config.global.trees = ["gh"];
    config.global.redis.prefix = "pbsec";
    // New objects, not Object.assign: loadConfig's default github.bench is one object shared by every load in this process.
    const github = config.global.github;
    const rateLimit = { ...github.bench.rateLimit, refusalsPerHour: 3 };
    config.global.github = { ...github, enabled: true, port: 0, baseUrl: gh.url, bench: { ...github.bench, pools: ["sec-idle"], rateLimit } };
    config.global.ingest = { ...config.global.ingest, maxPatches: 5 };
    db = await openStore(config.paths.storePath);
    const connection = bullConnection({ host: "127.0.0.1", port: redis.port });
    flows = new FlowProducer({ connection, prefix: "pbsec" });
    pool = new Queue("pool-sec-idle", { connection, prefix: "pbsec" });
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
      installationId: "security",
    });
    const url = app.webhookUrl;
    const fake = gh;
    const handled = (delivery: string) => logText.split("\n").filter((l) => l.includes('"msg":"github event handled"') && l.includes(`"deliveryId":"${delivery}"`)).length;
    const opened = pullRequestPayload(fake, { owner: OWNER, repo: REPO, cloneUrl: bare, action: "opened", pull, association: "FIRST_TIME_CONTRIBUTOR" });
    // Branch names are the sender's: the fork's head ref and a base ref full of shell syntax.
    const prJson = opened.pull_request as { head: { ref: string }; base: { ref: string } };
    prJson.head.ref = `topic;${meta}`;
    const rows: AttackRow[] = [];

    rows.push(
      await probeAttack("webhook with a bad signature", "400; nothing handled", async () => {
        const status = await sendWebhook(url, SECRET, "pull_request", "sec-bad-sig", opened, "not-the-secret");
        assert.equal(status, 400);
        await waitFor("the refusal in the log", () => /signature does not match/.test(logText));
        assert.equal(handled("sec-bad-sig"), 0);
        assert.equal(logText.includes(marker), false, "the unsigned payload reached the log");
        return `answered ${status}; "signature does not match" logged, the payload not; not enqueued`;
      }),
    );
    rows.push(
      await probeAttack("webhook without a signature", "400; nothing handled", async () => {
        const r = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", "x-github-event": "pull_request", "x-github-delivery": "sec-no-sig" },
          body: JSON.stringify(opened),
        });
        const text = await r.text();
        assert.equal(r.status, 400, text);
        assert.equal(handled("sec-no-sig"), 0);
        return `answered ${r.status}: ${text.trim().slice(0, 80)}`;
      }),
    );
    rows.push(
      await probeAttack("replayed webhook (same X-GitHub-Delivery)", "handled once", async () => {
        assert.equal(await sendWebhook(url, SECRET, "pull_request", "sec-open", opened), 200);
        await waitFor("the first delivery handled", () => handled("sec-open") === 1);
        assert.equal(await sendWebhook(url, SECRET, "pull_request", "sec-open", opened), 200);
        await waitFor("the replay noticed", () => /"deliveryId":"sec-open"[^\n]*"msg":"webhook redelivered; ignored"/.test(logText));
        await new Promise((r) => setTimeout(r, 500));
        assert.equal(handled("sec-open"), 1);
        return "second POST answered 200, logged \"webhook redelivered; ignored\", handled 1 time";
      }),
    );
    rows.push(
      await probeAttack(`webhook body over ${MAX_WEBHOOK_BYTES} B (Content-Length)`, "413 before reading; cap = GitHub's 25 MB", async () => {
        assert.equal(MAX_WEBHOOK_BYTES, 25 * 1024 * 1024, "GitHub caps payloads at 25 MB");
        const status = await postBig(url, MAX_WEBHOOK_BYTES + 1, true, "sec-huge-cl");
        assert.equal(status, 413);
        assert.match(logText, /"deliveryId":"sec-huge-cl"[^\n]*"declared":true/);
        assert.equal(logText.includes('{"x":"y"}'), false, "the body reached the log");
        return `Content-Length ${MAX_WEBHOOK_BYTES + 1}: ${status}, body not read, not logged`;
      }),
    );
    rows.push(
      await probeAttack("webhook body over 25 MB (chunked, 40 MB sent)", "413 once 25 MB are counted; no more buffered", async () => {
        const status = await postBig(url, 40 * 1024 * 1024, false, "sec-huge-chunked");
        assert.equal(status, 413);
        const bytes = Number(/"deliveryId":"sec-huge-chunked"[^\n]*"bytes":(\d+),"declared":false/.exec(logText)?.[1]);
        assert.ok(bytes > MAX_WEBHOOK_BYTES && bytes <= MAX_WEBHOOK_BYTES + 1024 * 1024, `read ${bytes} bytes`);
        assert.equal(logText.includes('{"x":"y"}'), false, "the body reached the log");
        return `${status} after reading ${bytes} bytes; log ${Math.round(logText.length / 1024)} KiB, no body in it`;
      }),
    );
    rows.push(
      await probeAttack("a stranger's /bench, three times", "at most one refusal, then silence", async () => {
        for (const [i, delivery] of ["sec-str-1", "sec-str-2", "sec-str-3"].entries()) {
          const c = issueCommentPayload(fake, { owner: OWNER, repo: REPO, cloneUrl: bare, number: 7, commentId: 9100 + i, body: "/bench", login: "newcomer", association: "NONE" });
          assert.equal(await sendWebhook(url, SECRET, "issue_comment", delivery, c), 200);
        }
        await waitFor("the three comments handled", () => ["sec-str-1", "sec-str-2", "sec-str-3"].every((d) => handled(d) === 1));
        const refusals = [...fake.comments.values()].filter((c) => c.body.includes("@newcomer"));
        assert.equal(refusals.length, 1, refusals.map((c) => c.body).join(" | "));
        return `${refusals.length} refusal comment; ${(logText.match(/"msg":"\/bench refused; not answered"/g) ?? []).length} refused silently`;
      }),
    );
    rows.push(
      await probeAttack("shell metacharacters in /bench args (a maintainer's)", "an error reply; nothing run", async () => {
        const body = `/bench runner=$(touch ${marker}) sizes=1;touch${marker} variant=busy_read=1\`touch ${marker}\``;
        const c = issueCommentPayload(fake, { owner: OWNER, repo: REPO, cloneUrl: bare, number: 7, commentId: 9200, body, login: "maint", association: "COLLABORATOR" });
        const before = fake.comments.size;
        assert.equal(await sendWebhook(url, SECRET, "issue_comment", "sec-meta-bench", c), 200);
        await waitFor("the command handled", () => handled("sec-meta-bench") === 1);
        const out = logText.split("\n").find((l) => l.includes('"deliveryId":"sec-meta-bench"') && l.includes('"msg":"github event handled"')) ?? "";
        const reply = [...fake.comments.values()].slice(before)[0];
        assert.ok(reply, `no reply comment; the processor said ${out}`);
        assert.doesNotMatch(reply.body, /queued, position/);
        assert.equal(await pool!.count(), 1, "only the PR's own apply job is queued");
        assert.equal(existsSync(marker), false, "a command ran");
        return `reply: ${reply.body.replace(/\s+/g, " ").slice(0, 110)}`;
      }),
    );
    rows.push(
      await probeAttack("shell metacharacters in PR branch names, title and commit subject", "queued and applied as data; nothing run", async () => {
        const run = await waitFor("the check run", () => [...fake.checkRuns.values()].find((r) => r.head_sha === head));
        const job = await waitFor("the apply job", () => pool!.getJob(`${String(run.external_id)}-apply`));
        const stage = stageJobSchema.parse(job.data);
        assert.ok(stage.patches.some((p) => p.subject.includes("$(touch")), "the subject reached the job verbatim");
        const r = await applySeries(stage, { git, log: silentLogger(), workDir: join(dir, "runner"), runner: "security", fetchIntervalMs: 0 });
        assert.equal(r.status, "pass", r.summary);
        assert.equal(existsSync(marker), false, "a command ran");
        assert.deepEqual(fake.problems, []);
        return `check run queued; git am applied "${stage.patches[0]?.subject.slice(0, 40)}…" as text; no marker file`;
      }),
    );
    rows.push(
      await probeAttack("a PR pushed three times in a row", "earlier heads' queued flows withdrawn; one queued", async () => {
        const before = new Set([...fake.checkRuns.values()].map((r) => String(r.external_id)));
        let last = "";
        for (let i = 1; i <= 3; i++) {
          await git(["checkout", "--quiet", "topic"], { repo: work });
          writeFileSync(join(work, "filter.c"), `int a;\nint b;\nint c${i};\n`);
          await git(["commit", "--quiet", "-am", `net: push ${i}\n\nSigned-off-by: New Comer <new@example.org>`], { repo: work });
          last = (await git(["rev-parse", "HEAD"], { repo: work })).stdout.trim();
          await git(["push", "--quiet", "--force", bare, `HEAD:refs/pull/7/head`], { repo: work });
          fake.pulls.get(7)!.headSha = last;
          const payload = pullRequestPayload(fake, { owner: OWNER, repo: REPO, action: "synchronize", pull: { ...pull, headSha: last }, cloneUrl: `file://${bare}`, association: "FIRST_TIME_CONTRIBUTOR" });
          assert.equal(await sendWebhook(url, SECRET, "pull_request", `sec-push-${i}`, payload), 200);
          await waitFor(`push ${i} handled`, () => handled(`sec-push-${i}`) === 1);
        }
        const newest = await waitFor("the newest head's check run", () => [...fake.checkRuns.values()].find((r) => r.head_sha === last));
        const earlier = [...fake.checkRuns.values()].filter((r) => r !== newest);
        await waitFor("the earlier check runs completed", () => earlier.every((r) => r.status === "completed"));
        for (const r of earlier) {
          const flow = String(r.external_id);
          assert.equal(r.conclusion, "cancelled", `${flow}: ${r.conclusion}`);
          assert.equal(await pool!.getJob(`${flow}-apply`), undefined, `${flow}: still queued`);
          assert.equal((await getFlow(db!, flow))?.status, "superseded");
        }
        assert.ok(await pool!.getJob(`${String(newest.external_id)}-apply`), "the newest head is not queued");
        assert.equal(await pool!.count(), 1, "more than one job queued for the PR");
        assert.deepEqual(fake.problems, []);
        return `${earlier.length} earlier check runs cancelled (${[...before].length} before the pushes), their flows superseded; 1 job queued`;
      }),
    );
    const h = { url, secret: SECRET, owner: OWNER, repo: REPO, fake, pool: pool!, db: db!, work, bare, baseSha, dir, logText: () => logText, handled };
    rows.push(...(await runPullAbuseAttacks({ ...h, refusalsPerHour: rateLimit.refusalsPerHour, maxPatches: config.global.ingest.maxPatches })));
    return rows;
  } finally {
    await app?.close();
    await flows?.close();
    await pool?.close();
    await db?.destroy();
    await gh?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
