import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { FlowProducer, Queue } from "bullmq";
import { type GithubAppService, serveGithubApp } from "../../src/bot/serve-github-app.ts";
import { loadConfig } from "../../src/config/load-config.ts";
import { treeSchema } from "../../src/config/schema.ts";
import { SERIES_BPF_PROGS_DIR } from "../../src/domain/series-bpf-program.ts";
import { git } from "../../src/lib/git.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { bullConnection } from "../../src/queue/redis-connection.ts";
import { type Db, openStore } from "../../src/store/open-store.ts";
import { type FakeGithub, type FakePull, issueCommentPayload, pullRequestPayload, sendWebhook, startFakeGithub } from "../helpers/fake-github.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { waitFor } from "../helpers/wait-for.ts";

/**
 * The GitHub App in this process against the fake GitHub and a real Redis: a `/bench` whose arm
 * names a BPF program the PR's candidate tree does not have is refused when commented, naming
 * the programs the PR adds; one the PR adds is queued. The PR's commits and merge-base are in
 * the app's PR mirror since its own flow was planned. The pool has no runner: flows stay queued.
 */
const OWNER = "octo";
const REPO = "linux";
const SECRET = "webhook-secret-for-bpf-tests";

describe("GitHub /bench: an arm's series BPF program checked against the PR's candidate tree", () => {
  let dir: string;
  let redis: TestRedis;
  let gh: FakeGithub;
  let app: GithubAppService;
  let db: Db;
  let flows: FlowProducer;
  let pool: Queue;
  let bare = "";
  let baseSha = "";
  let pull: FakePull;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pb-ghbpf-"));
    const work = join(dir, "work");
    await git(["init", "--quiet", "-b", "main", work]);
    mkdirSync(join(work, SERIES_BPF_PROGS_DIR), { recursive: true });
    writeFileSync(join(work, SERIES_BPF_PROGS_DIR, "tcp_splice_sockops.c"), "int splice;\n");
    writeFileSync(join(work, "filter.c"), "int a;\n");
    await git(["add", "-A"], { repo: work });
    await git(["commit", "--quiet", "-m", "base"], { repo: work });
    baseSha = (await git(["rev-parse", "HEAD"], { repo: work })).stdout.trim();
    await git(["checkout", "--quiet", "-b", "topic"], { repo: work });
    writeFileSync(join(work, SERIES_BPF_PROGS_DIR, "pb_sockops_busy_poll.c"), "int busy;\n");
    writeFileSync(join(work, "filter.c"), "int a;\nint busy;\n");
    await git(["add", "-A"], { repo: work });
    await git(["commit", "--quiet", "-m", "bpf: busy poll from sockops\n\nSigned-off-by: Ada Hacker <ada@example.org>"], { repo: work });
    const head = (await git(["rev-parse", "HEAD"], { repo: work })).stdout.trim();
    await git(["checkout", "--quiet", "main"], { repo: work });
    bare = join(dir, "linux.git");
    await git(["clone", "--quiet", "--bare", work, bare]);
    await git(["update-ref", "refs/pull/7/head", head], { repo: bare });
    pull = { number: 7, title: "bpf: busy poll from sockops", body: "", headSha: head, baseSha, baseRef: "main", user: "ada", state: "open" };

    redis = await startTestRedis();
    gh = await startFakeGithub({ owner: OWNER, repo: REPO, bareRepo: bare, pulls: [pull] });
    const config = loadConfig({ flags: { dataDir: join(dir, "data"), redisUrl: redis.url } });
    config.trees = [
      treeSchema.parse({
        name: "gh",
        url: bare,
        branch: "main",
        pool: "idle",
        stages: ["apply", "build", "bench"],
        suites: [],
        bench: { tests: ["TCP_RR"], sizes: [1], topologies: ["loopback"], rounds: 2, maxRounds: 2, runsPerRound: 1, durationSec: 1, warmup: false },
      }),
    ];
    config.global.defaultTree = "gh";
    config.global.trees = ["gh"];
    Object.assign(config.global.github, { enabled: true, port: 0, baseUrl: gh.url });
    Object.assign(config.global.github.bench, { pools: ["idle"], maxCells: 4, maxRounds: 4, maxRunnerMinutes: 600 });
    db = await openStore(config.paths.storePath);
    const connection = bullConnection({ host: "127.0.0.1", port: redis.port });
    flows = new FlowProducer({ connection, prefix: "patchbench" });
    pool = new Queue("pool-idle", { connection, prefix: "patchbench" });
    app = await serveGithubApp({
      config,
      settings: { appId: gh.appId, privateKey: gh.privateKey, webhookSecret: SECRET, baseUrl: gh.url },
      db,
      flows,
      redis: { host: "127.0.0.1", port: redis.port },
      log: silentLogger(),
      installationId: "bpf",
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

  test("a program neither the PR adds nor its base has: one reply naming the PR's own programs, nothing queued; the PR's program is queued", async () => {
    const opened = pullRequestPayload(gh, { owner: OWNER, repo: REPO, cloneUrl: bare, action: "opened", pull, association: "MEMBER" });
    assert.equal(await sendWebhook(app.webhookUrl, SECRET, "pull_request", "d-open", opened), 200);
    const run = await waitFor("the PR's check run", () => [...gh.checkRuns.values()].find((r) => r.head_sha === pull.headSha));
    await waitFor("the PR's apply job", () => pool.getJob(`${String(run.external_id)}-apply`));

    const typo = issueCommentPayload(gh, { owner: OWNER, repo: REPO, cloneUrl: bare, number: 7, commentId: 9301, body: "/bench arm=bpf-cgroup=pb_sockops_busy_pol", login: "maint", association: "MEMBER" });
    assert.equal(await sendWebhook(app.webhookUrl, SECRET, "issue_comment", "d-typo", typo), 200);
    const refusal = await waitFor("the refusal", () => [...gh.comments.values()].find((c) => c.body.includes("I cannot run that")));
    assert.equal(
      refusal.body,
      `**patchbench:** I cannot run that \`/bench\`: arm bpf-cgroup=pb_sockops_busy_pol: bpf-cgroup=pb_sockops_busy_pol: tools/testing/selftests/bpf/progs/pb_sockops_busy_pol.c is neither added by the series nor in its base tree (${baseSha.slice(0, 12)}); programs the series adds: pb_sockops_busy_poll\n`,
    );
    assert.deepEqual(gh.reactions, [], "refused before the reaction that starts a run");

    const ok = issueCommentPayload(gh, { owner: OWNER, repo: REPO, cloneUrl: bare, number: 7, commentId: 9302, body: "/bench arm=bpf-cgroup=pb_sockops_busy_poll", login: "maint", association: "MEMBER" });
    assert.equal(await sendWebhook(app.webhookUrl, SECRET, "issue_comment", "d-ok", ok), 200);
    const ack = await waitFor("the acknowledgement", () => [...gh.comments.values()].find((c) => c.body.includes("queued, position")));
    assert.match(ack.body, /arm bpf-cgroup=pb_sockops_busy_poll \(with pb_sockops_busy_poll\.c of the series' BPF selftests/);
    const flowId = /patchbench:(flow-[0-9a-f]+)/.exec(ack.body)![1]!;
    await waitFor("its build job", () => pool.getJob(`${flowId}-build`));
    assert.deepEqual(gh.problems, [], gh.problems.join("\n"));
  });
});
