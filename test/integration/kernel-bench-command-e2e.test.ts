import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { stringify } from "yaml";
import { type FakeGithub, type FakePull, issueCommentPayload, pullRequestPayload, sendWebhook, startFakeGithub } from "../helpers/fake-github.ts";
import { PROJECT_ROOT } from "../helpers/fixtures.ts";
import { cloneKernelTestTree } from "../helpers/kernel-test-tree.ts";
import { freePort, startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { CLI } from "../helpers/run-cli.ts";
import { openStore } from "../../src/store/open-store.ts";

/**
 * `/bench` measures the series' own kernel, end to end: `patchbench start` (GitHub app and local
 * runner), a fake GitHub validating every call against GitHub's OpenAPI description, a real
 * Redis, and the kernel tier's injected-regression series (test/data/kernel-ab/regression.mbox)
 * as a pull request on the pinned linux-source-6.1 tree. The PR's own flow builds both kernels;
 * a collaborator's `/bench tests=TCP_RR sizes=1` is acknowledged with an estimate that counts
 * the boots of that flow's kept kernels (no build), boots them instead of building again, and the
 * edited comment shows the regression with its interval. PATCHBENCH_SKIP_KERNEL_E2E=1 skips it.
 * patchbench:measure-alone — its verdicts come from netperf inside the guests.
 */
const SKIP = process.env.PATCHBENCH_SKIP_KERNEL_E2E === "1";
const CACHE = process.env.PATCHBENCH_CACHE ?? "/var/cache/patchbench";
const OWNER = "octo";
const REPO = "linux";
const SECRET = "webhook-secret-for-tests";
const ADA = {
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  TZ: "UTC",
  GIT_AUTHOR_NAME: "Ada Hacker",
  GIT_AUTHOR_EMAIL: "ada@example.org",
  GIT_COMMITTER_NAME: "Ada Hacker",
  GIT_COMMITTER_EMAIL: "ada@example.org",
};

describe("/bench on a pull request: base vs candidate kernel, the PR's built kernels reused (linux-source-6.1, QEMU TCG)", { skip: SKIP ? "PATCHBENCH_SKIP_KERNEL_E2E=1" : false }, () => {
  let dir: string;
  let redis: TestRedis;
  let gh: FakeGithub;
  let proc: ChildProcess;
  let stderr = "";
  let webhook = "";
  let bare = "";
  let pull: FakePull;
  let list = "";
  let prFlow = "";

  const waitFor = async <T,>(what: string, fn: () => T | undefined, timeoutMs: number): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = fn();
      if (v !== undefined) return v;
      const why = gh.problems.length ? "the fake GitHub saw a problem" : proc.exitCode !== null ? "patchbench start exited" : Date.now() > deadline ? "timed out" : null;
      if (why) throw new Error(`${why} waiting for ${what}\n${gh.problems.join("\n")}\nservice log (tail):\n${stderr.split("\n").slice(-40).join("\n")}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  };

  before(async () => {
    const tree = cloneKernelTestTree("pb-kbench-", ADA);
    dir = tree.dir;
    const work = tree.repo;
    const g = tree.git;
    const baseSha = g("rev-parse", "HEAD");
    g("checkout", "-q", "-b", "topic");
    g("am", "-q", "--empty=drop", "--committer-date-is-author-date", join(PROJECT_ROOT, "test", "data", "kernel-ab", "regression.mbox"));
    const headSha = g("rev-parse", "HEAD");
    g("checkout", "-q", "base");
    bare = join(dir, "linux.git");
    execFileSync("git", ["clone", "-q", "--bare", "--shared", work, bare]);
    execFileSync("git", ["update-ref", "refs/pull/1/head", headSha], { cwd: bare });
    pull = { number: 1, title: "tcp: wait before each transmit", body: "Injected regression for the kernel tier.", headSha, baseSha, baseRef: "base", user: "ada", state: "open" };

    redis = await startTestRedis();
    gh = await startFakeGithub({ owner: OWNER, repo: REPO, bareRepo: bare, pulls: [pull] });
    const port = await freePort();
    list = join(dir, "list.mbox");
    writeFileSync(list, "");
    const config = join(dir, "config");
    mkdirSync(join(config, "trees"), { recursive: true });
    writeFileSync(
      join(config, "patchbench.yaml"),
      stringify({
        dataDir: join(dir, "data"),
        logLevel: "info",
        trees: ["linux-6.1"],
        defaultTree: "linux-6.1",
        mail: { dryRun: true, bench: { maintainers: ["maint@kernel.example"], trustedAuthservIds: ["mx.kernel.example"] } },
        sources: [{ kind: "mbox", path: list, intervalSec: 2 }],
        github: { enabled: true, port, baseUrl: gh.url, bench: { pools: ["local"], maxCells: 4, maxRounds: 10, maxRunnerMinutes: 120 } },
      }),
    );
    // The kernel tier's build and bench (kernel-ab-e2e): tinyconfig + the guest fragment, both kernels as QEMU guests.
    writeFileSync(
      join(config, "trees", "linux-6.1.yaml"),
      stringify({
        name: "linux-6.1",
        url: bare,
        path: work,
        branch: "base",
        stages: ["apply", "build", "bench"],
        suites: [],
        checks: ["signed-off-by"],
        build: { baseConfig: "tinyconfig", selftestsConfig: false, extras: ["CONFIG_PRINTK=y"], timeoutSec: 3600 },
        boot: { target: "qemu", timeoutSec: 300, qemu: { kvm: "auto", memoryMb: 512, cpus: 1 } },
        bench: {
          tests: ["TCP_RR"],
          sizes: [1, 64],
          topologies: ["loopback"],
          rounds: 4,
          maxRounds: 10,
          runsPerRound: 2,
          durationSec: 2,
          warmup: true,
          warmupRounds: "first",
          sides: "kernels",
          budgetSec: 3600,
        },
      }),
    );
    mkdirSync(join(CACHE, "ccache"), { recursive: true });
    proc = spawn(process.execPath, [CLI, "--config", config, "--redis-url", redis.url, "start"], {
      env: {
        ...process.env,
        CCACHE_DIR: join(CACHE, "ccache"),
        PATCHBENCH_GITHUB_APP_ID: gh.appId,
        PATCHBENCH_GITHUB_PRIVATE_KEY: gh.privateKey,
        PATCHBENCH_GITHUB_WEBHOOK_SECRET: SECRET,
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    proc.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    await waitFor("the app to listen", () => (stderr.includes("GitHub app listening") ? true : undefined), 60_000);
    webhook = `http://127.0.0.1:${port}/api/github/webhooks`;
  });

  after(async () => {
    if (proc && proc.exitCode === null) {
      proc.kill("SIGTERM");
      await new Promise((r) => proc.once("exit", r));
    }
    await gh?.close();
    await redis?.stop();
    if (dir && process.env.PATCHBENCH_E2E_KEEP === "1") process.stderr.write(`kept ${dir}\n`);
    else if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("the PR's flow builds both kernels; /bench tests=TCP_RR sizes=1 is acknowledged with an estimate that boots those kept kernels (no build), reuses them, and the edited comment shows the regression", async () => {
    const t0 = Date.now();
    const opened = pullRequestPayload(gh, { owner: OWNER, repo: REPO, cloneUrl: bare, action: "opened", pull, association: "COLLABORATOR" });
    assert.equal(await sendWebhook(webhook, SECRET, "pull_request", "d-kpr-1", opened), 200);
    const run = await waitFor("the PR's check run", () => [...gh.checkRuns.values()].find((r) => r.status === "completed"), 40 * 60_000);
    const summary = (run.output as { summary: string }).summary;
    process.stderr.write(`# the PR's flow took ${((Date.now() - t0) / 1000).toFixed(0)} s\n${summary}\n`);
    assert.match(summary, /- \*\*Build\*\* ✅ pass: built base and candidate \(tinyconfig\)/, summary);
    assert.match(summary, /\| TCP_RR loopback 1 B \| .* \| 🔴 regression \|/, summary);

    const t1 = Date.now();
    const body = "Let's see it on the kernel itself:\n/bench tests=TCP_RR sizes=1\n";
    const ask = issueCommentPayload(gh, { owner: OWNER, repo: REPO, cloneUrl: bare, number: 1, commentId: 7001, body, login: "maint", association: "COLLABORATOR" });
    assert.equal(await sendWebhook(webhook, SECRET, "issue_comment", "d-kbench-1", ask), 200);
    // The queue page's own row: a place and a start, or "taken at once" when the idle runner already has it.
    const ack = await waitFor("the acknowledgement", () => [...gh.comments.values()].find((c) => c.body.includes("**patchbench:** queued, ")), 60_000);
    assert.match(ack.body, /queued, (position \d+ on runner pool `local`, estimated start \d{4}-\d\d-\d\d \d\d:\d\d UTC|taken at once by a runner of pool `local`) \(this run/, ack.body);
    process.stderr.write(`# acknowledgement after ${Date.now() - t1} ms:\n${ack.body}\n`);
    // The estimate is the runner's: the PR's flow built both kernels of this head, so no build is counted.
    assert.match(
      ack.body,
      new RegExp(`\\(this run ≈ \\d+ min of runner time: the base and candidate kernels kept from ${String(run.external_id)} booted again \\(no build\\), 1 cell\\(s\\) measured in each\\)`),
      ack.body,
    );

    const done = await waitFor("the results in the acknowledgement", () => (gh.comments.get(ack.id)?.edits ? gh.comments.get(ack.id) : undefined), 40 * 60_000);
    process.stderr.write(`# /bench answered ${((Date.now() - t1) / 1000).toFixed(0)} s after the comment:\n${done.body}\n`);
    const flowOfPr = String(run.external_id);
    prFlow = flowOfPr;
    // Same base, same series, same config: both kernels are the PR flow's, booted again, not built.
    assert.match(done.body, new RegExp(`- \\*\\*Build\\*\\* ✅ pass: reused the kept base and candidate of flow ${flowOfPr} \\(same commit, tinyconfig config and compiler\\)`), done.body);
    assert.match(done.body, /\*\*Base vs candidate kernel\*\* \(the series' regression check\):/);
    assert.match(done.body, /\| TCP_RR loopback 1 B \| [\d.]+k? tps ±\d+% \| [\d.]+k? tps ±\d+% \| 0\.\d+x \(-[\d.]+%\) \| \[0\.\d+x, 0\.\d+x\] \| [\d.e-]+ \| 🔴 regression \|/, done.body);
    assert.doesNotMatch(done.body, /TCP_RR loopback 64 B/, "the requested matrix, not the tree's");
    assert.match(done.body, /netperf inside each booted kernel, A = `base`, B = `candidate`/);
    assert.deepEqual(gh.problems, [], gh.problems.join("\n"));
  });

  test("the same series on the list: a maintainer's DKIM-vouched /bench in its thread gets one reply with the regression, from the same kept kernels", async () => {
    assert.ok(prFlow, "runs after the pull request's test");
    const flows = async () => {
      const db = await openStore(join(dir, "data", "patchbench.sqlite"));
      try {
        return (await db.selectFrom("flows").select("id").execute()).length;
      } finally {
        await db.destroy();
      }
    };
    const before = await flows();
    const mbox = readFileSync(join(PROJECT_ROOT, "test", "data", "kernel-ab", "regression.mbox"), "utf8");
    const cover = /^Message-Id: <([^>]+)>/m.exec(mbox)![1]!;
    appendFileSync(list, mbox.endsWith("\n\n") ? mbox : `${mbox}\n`);
    let n = before;
    for (const deadline = Date.now() + 120_000; n === before && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 1000));
      n = await flows();
    }
    assert.equal(n, before + 1, "the series from the list is one more flow");
    const t0 = Date.now();
    appendFileSync(
      list,
      [
        "From mboxrd@z Thu Jan  1 00:00:00 1970",
        "From: Maint <maint@kernel.example>",
        "To: netdev@vger.kernel.org",
        "Subject: Re: [PATCH net-next 0/1] tcp: slower transmits",
        "Date: Wed, 2 Dec 2026 09:00:00 +0000",
        "Message-ID: <bench-1@kernel.example>",
        `In-Reply-To: <${cover}>`,
        `References: <${cover}>`,
        "Authentication-Results: mx.kernel.example; dkim=pass header.d=kernel.example",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "Does it hold on loopback?",
        "",
        "/bench tests=TCP_RR sizes=1",
        "",
        "",
      ].join("\n"),
    );
    const outbox = join(dir, "data", "outbox");
    const answers = () => (existsSync(outbox) ? readdirSync(outbox).map((f) => readFileSync(join(outbox, f), "utf8")).filter((m) => /^In-Reply-To: <bench-1@kernel\.example>$/m.test(m)) : []);
    const reply = await waitFor("the reply to the /bench mail", () => answers().find((m) => /Benchmark: netperf inside each kernel/.test(m)), 40 * 60_000);
    process.stderr.write(`# /bench by mail answered ${((Date.now() - t0) / 1000).toFixed(0)} s after it reached the list:\n${reply}\n`);
    assert.equal(answers().length, 1, "one reply");
    assert.match(reply, /^To: Maint <maint@kernel\.example>$/m);
    const flat = reply.replace(/=\r?\n/g, "").replace(/\s+/g, " ");
    assert.match(flat, new RegExp(`reused the kept base and candidate of flow ${prFlow} \\(same commit, tinyconfig config and compiler\\)`), reply);
    assert.match(flat, /TCP_RR \(loopback\) 1 B [\d.]+k? -> [\d.]+k? tps \(0\.\d+x\) \[0\.\d+x, 0\.\d+x\] regression: -\d/, reply);
    assert.doesNotMatch(flat, /TCP_RR \(loopback\) 64 B/, "the requested matrix");
  });
});
