import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { git } from "../../src/lib/git.ts";
import { formatQuantity } from "../../src/report/format-number.ts";
import { openStore } from "../../src/store/open-store.ts";
import { listSamples } from "../../src/store/result-repository.ts";
import { type FakeGithub, type FakePull, issueCommentPayload, pullRequestPayload, sendWebhook, startFakeGithub } from "../helpers/fake-github.ts";
import { freePort, startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { CLI } from "../helpers/run-cli.ts";

/**
 * The GitHub channel end to end: `patchbench start` (a separate process)
 * serving the app, signed webhooks over real HTTP, the fake GitHub
 * validating every call against GitHub's OpenAPI description, a real
 * Redis, real git (format-patch, am) and a real runner doing a tiny real
 * netperf run (1 cell, loopback, 2 rounds, 1 s).
 */
const OWNER = "octo";
const REPO = "linux";
const SECRET = "webhook-secret-for-tests";

let debug: (() => string) | undefined;
let failFast: (() => string | null) | undefined;

async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 240_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== null && v !== false) return v;
    if (failFast?.()) throw new Error(`while waiting for ${what}: ${failFast()}${debug ? `\n${debug()}` : ""}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${debug ? `\n${debug()}` : ""}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("GitHub app (patchbench start, fake GitHub, real Redis/git/netperf)", () => {
  let dir: string;
  let redis: TestRedis;
  let gh: FakeGithub;
  let proc: ChildProcess;
  let stderr = "";
  let webhook = "";
  let bare = "";
  let dataDir = "";
  let pull: FakePull;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pb-github-"));
    const work = join(dir, "work");
    await git(["init", "--quiet", "-b", "main", work]);
    writeFileSync(join(work, "filter.c"), "int sock_ops_busy_poll;\n");
    await git(["add", "filter.c"], { repo: work });
    await git(["commit", "--quiet", "-m", "base"], { repo: work });
    const baseSha = (await git(["rev-parse", "HEAD"], { repo: work })).stdout.trim();
    await git(["checkout", "--quiet", "-b", "topic"], { repo: work });
    writeFileSync(join(work, "filter.c"), "int sock_ops_busy_poll;\nint so_busy_poll_allowed = 1;\n");
    await git(["commit", "--quiet", "-am", "bpf: allow SO_BUSY_POLL from sockops\n\nSigned-off-by: Ada Hacker <ada@example.org>"], {
      repo: work,
      extraEnv: { GIT_AUTHOR_NAME: "Ada Hacker", GIT_AUTHOR_EMAIL: "ada@example.org" },
    });
    const headSha = (await git(["rev-parse", "HEAD"], { repo: work })).stdout.trim();
    await git(["checkout", "--quiet", "main"], { repo: work });
    bare = join(dir, "linux.git");
    await git(["clone", "--quiet", "--bare", work, bare]);
    await git(["update-ref", "refs/pull/7/head", headSha], { repo: bare });
    pull = { number: 7, title: "bpf: SO_BUSY_POLL from sockops", body: "Faster busy polling.", headSha, baseSha, baseRef: "main", user: "ada", state: "open" };

    redis = await startTestRedis();
    gh = await startFakeGithub({ owner: OWNER, repo: REPO, bareRepo: bare, pulls: [pull] });
    const port = await freePort();
    const config = join(dir, "config");
    dataDir = join(dir, "data");
    mkdirSync(join(config, "trees"), { recursive: true });
    writeFileSync(
      join(config, "patchbench.yaml"),
      [
        `dataDir: ${dataDir}`,
        "logLevel: info",
        "trees: [gh]",
        "defaultTree: gh",
        "github:",
        "  enabled: true",
        `  port: ${port}`,
        `  baseUrl: ${gh.url}`,
        "  bench: { pools: [local], maxCells: 4, maxRounds: 4 }",
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(config, "trees", "gh.yaml"),
      [
        "name: gh",
        `url: ${bare}`,
        `path: ${work}`,
        "branch: main",
        "stages: [apply, bench]",
        "suites: []",
        "bench:",
        "  tests: [TCP_RR]",
        "  sizes: [1]",
        "  topologies: [loopback]",
        "  rounds: 2",
        "  maxRounds: 2",
        "  runsPerRound: 1",
        "  durationSec: 1",
        "  warmup: false",
        "",
      ].join("\n"),
    );
    proc = spawn(process.execPath, [CLI, "--config", config, "--redis-url", redis.url, "start"], {
      env: {
        ...process.env,
        PATCHBENCH_LOG_LEVEL: "info",
        PATCHBENCH_GITHUB_APP_ID: gh.appId,
        PATCHBENCH_GITHUB_PRIVATE_KEY: gh.privateKey,
        PATCHBENCH_GITHUB_WEBHOOK_SECRET: SECRET,
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    proc.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    await waitFor("the app to listen", () => stderr.includes("GitHub app listening") || (proc.exitCode !== null ? (() => { throw new Error(stderr); })() : undefined), 60_000);
    webhook = `http://127.0.0.1:${port}/api/github/webhooks`;
    failFast = () => (gh.problems.length ? "the fake GitHub saw a problem" : proc.exitCode !== null ? "patchbench start exited" : null);
    debug = () => `fake GitHub problems: ${gh.problems.join("\n") || "none"}\nrequests: ${gh.requests.map((r) => `${r.method} ${r.path} ${r.status}`).join("\n")}\nservice log (tail):\n${stderr.split("\n").slice(-30).join("\n")}`;
  });

  after(async () => {
    if (proc && proc.exitCode === null) {
      proc.kill("SIGTERM");
      await new Promise((r) => proc.once("exit", r));
    }
    await gh?.close();
    await redis?.stop();
    if (process.env.PATCHBENCH_KEEP_TEST_DIR !== "1") rmSync(dir, { recursive: true, force: true });
  });

  test("a bad signature is refused with 400 and nothing is enqueued", async () => {
    const payload = pullRequestPayload(gh, { owner: OWNER, repo: REPO, cloneUrl: bare, action: "opened", pull });
    assert.equal(await sendWebhook(webhook, SECRET, "pull_request", "d-bad-sig", payload, "not-the-secret"), 400);
    assert.equal(gh.requests.length, 0);
  });

  test("a signed pull_request webhook gives OpenAPI-valid check-run calls, queued → in_progress → completed with the final numbers; a redelivery does nothing", async () => {
    const payload = pullRequestPayload(gh, { owner: OWNER, repo: REPO, cloneUrl: bare, action: "opened", pull });
    const t0 = Date.now();
    assert.equal(await sendWebhook(webhook, SECRET, "pull_request", "d-pr-opened-1", payload), 200);
    assert.ok(Date.now() - t0 < 9000, "the webhook is answered before GitHub's timeout");
    const run = await waitFor("the check run to complete", () => [...gh.checkRuns.values()].find((r) => r.status === "completed"));
    // A redelivery of the same delivery id, after the fact: nothing new.
    const before = gh.requests.length;
    assert.equal(await sendWebhook(webhook, SECRET, "pull_request", "d-pr-opened-1", payload), 200);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(gh.requests.length, before, "a redelivered webhook does nothing twice");
    assert.equal(gh.checkRuns.size, 1);

    assert.deepEqual(gh.problems, [], gh.problems.join("\n"));
    assert.deepEqual((run.history as string[]).filter((s, i, a) => a.indexOf(s) === i), ["queued", "in_progress", "completed"]);
    assert.equal(run.head_sha, pull.headSha);
    assert.match(String(run.external_id), /^flow-[0-9a-f]+$/);
    const out = run.output as { title: string; summary: string; text: string };
    assert.match(out.summary, /\| TCP_RR loopback 1 B \|/);
    assert.match(out.summary, /```mermaid\nxychart-beta/);
    assert.match(out.summary, /Apply\*\* ✅ pass/);
    // The numbers are the stored samples' (geometric mean of round means).
    const db = await openStore(join(dataDir, "patchbench.sqlite"));
    try {
      const samples = (await listSamples(db, String(run.external_id))).filter((s) => s.ok === 1);
      assert.equal(samples.length, 2 * 2, "2 rounds x 2 variants x 1 run");
      const gm = (variant: string) => {
        const xs = samples.filter((s) => s.variant === variant).map((s) => s.throughput!);
        return Math.exp(xs.reduce((a, b) => a + Math.log(b), 0) / xs.length);
      };
      assert.ok(out.summary.includes(`${formatQuantity(gm("busy_read=0"))} tps`), out.summary);
      assert.ok(out.summary.includes(`${formatQuantity(gm("busy_read=50"))} tps`), out.summary);
    } finally {
      await db.destroy();
    }
    const ops = gh.requests.map((r) => r.operationId);
    assert.ok(ops.includes("apps/create-installation-access-token"));
    assert.ok(ops.includes("pulls/list-commits") && ops.includes("repos/compare-commits-with-basehead"));
  });

  test("/bench from a stranger: a polite refusal and no job", async () => {
    const flowsBefore = await countFlows();
    const payload = issueCommentPayload(gh, { owner: OWNER, repo: REPO, cloneUrl: bare, number: 7, commentId: 9001, body: "/bench rounds=2", login: "mallory", association: "NONE" });
    assert.equal(await sendWebhook(webhook, SECRET, "issue_comment", "d-stranger", payload), 200);
    const refusal = await waitFor("the refusal", () => [...gh.comments.values()].find((c) => c.body.includes("@mallory")), 30_000);
    assert.match(refusal.body, /open to the repository's owners, members and collaborators/);
    assert.equal(gh.reactions.filter((r) => r.commentId === 9001).length, 0);
    assert.equal(await countFlows(), flowsBefore);
    assert.deepEqual(gh.problems, []);
  });

  test("/bench from a collaborator: reaction + queued acknowledgement, a real run, results edited into the same comment; redelivery and a second request are handled", async () => {
    const body = "Nice. Let's measure:\n/bench rounds=2 variant=busy_read=100\n";
    const payload = issueCommentPayload(gh, { owner: OWNER, repo: REPO, cloneUrl: bare, number: 7, commentId: 9002, body, login: "maint", association: "COLLABORATOR" });
    const t0 = Date.now();
    assert.equal(await sendWebhook(webhook, SECRET, "issue_comment", "d-bench-1", payload), 200);
    const ack = await waitFor("the acknowledgement", () => [...gh.comments.values()].find((c) => c.body.includes("**patchbench:** queued, ")), 30_000);
    const ackMs = Date.now() - t0;
    // The queue page's row for the flow: the idle runner may have taken it before the comment is written.
    assert.match(ack.body, /queued, (position \d+ on runner pool `local`, estimated start \d{4}-\d\d-\d\d \d\d:\d\d UTC|taken at once by a runner of pool `local`) \(this run/);
    assert.deepEqual(gh.reactions.filter((r) => r.commentId === 9002).map((r) => r.content), ["eyes"]);

    // Redelivered: no second acknowledgement.
    assert.equal(await sendWebhook(webhook, SECRET, "issue_comment", "d-bench-1", payload), 200);
    // A second request while the first is pending: told so.
    const second = issueCommentPayload(gh, { owner: OWNER, repo: REPO, cloneUrl: bare, number: 7, commentId: 9003, body: "/bench rounds=2", login: "maint", association: "MEMBER" });
    assert.equal(await sendWebhook(webhook, SECRET, "issue_comment", "d-bench-2", second), 200);
    await waitFor("the already-pending answer", () => [...gh.comments.values()].find((c) => c.body.includes("already pending")), 30_000);

    const done = await waitFor("the results in the acknowledgement", () => (gh.comments.get(ack.id)?.edits ? gh.comments.get(ack.id) : undefined));
    assert.match(done.body, /^<!-- patchbench:flow-[0-9a-f]+ -->\n\*\*patchbench: /);
    assert.match(done.body, /\| Cell \| A: busy\\_read=0 \| B: busy\\_read=100 \|/);
    assert.match(done.body, /\| TCP_RR loopback 1 B \| [\d.]+k? tps/);
    const acks = gh.requests.filter((r) => r.operationId === "issues/create-comment" && String((r.body as { body?: string }).body).includes("**patchbench:** queued, "));
    assert.equal(acks.length, 1, "one acknowledgement, though the webhook came twice");
    assert.deepEqual(gh.problems, [], gh.problems.join("\n"));
    process.stderr.write(`# github-app: /bench acknowledged in ${ackMs} ms\n`);
  });

  async function countFlows(): Promise<number> {
    const db = await openStore(join(dataDir, "patchbench.sqlite"));
    try {
      return (await db.selectFrom("flows").selectAll().execute()).length;
    } finally {
      await db.destroy();
    }
  }
});
