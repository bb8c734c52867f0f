import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Queue } from "bullmq";
import { git } from "../../src/lib/git.ts";
import { RunnerProcessRecord } from "../../src/lib/job-processes.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { defaultSandbox } from "../../src/lib/sandbox.ts";
import { stageJobSchema } from "../../src/queue/payloads.ts";
import { buildReport } from "../../src/report/build-report.ts";
import { renderCheckRun } from "../../src/report/render-check-run.ts";
import type { Db } from "../../src/store/open-store.ts";
import { getSeries } from "../../src/store/series-repository.ts";
import { createStageProcessor } from "../../src/workers/stage-processor.ts";
import { type FakeGithub, type FakePull, issueCommentPayload, pullRequestPayload, sendWebhook } from "../helpers/fake-github.ts";
import { waitFor } from "../helpers/wait-for.ts";
import type { AttackRow } from "./format-attack-table.ts";
import { probeAttack } from "./probe-attack.ts";

/** The GitHub App of run-webhook-attacks.ts, as these attacks need it. */
export interface GithubAppUnderAttack {
  url: string;
  secret: string;
  owner: string;
  repo: string;
  fake: FakeGithub;
  /** The tree's pool queue (no runner on it: what is queued stays visible). */
  pool: Queue;
  db: Db;
  /** The clone PR branches are made in, the bare repository GitHub serves, the base commit. */
  work: string;
  bare: string;
  baseSha: string;
  dir: string;
  logText: () => string;
  handled: (delivery: string) => number;
  /** github.bench.rateLimit.refusalsPerHour and ingest.maxPatches as configured for the app. */
  refusalsPerHour: number;
  maxPatches: number;
}

/** Open PR `n` of `commits` commits by `user`: the check run GitHub shows and the flow behind it. */
async function openPull(h: GithubAppUnderAttack, n: number, user: string, association: string, commits: number) {
  await git(["checkout", "--quiet", "-b", `pr${n}`, h.baseSha], { repo: h.work });
  for (let i = 1; i <= commits; i++) {
    writeFileSync(join(h.work, `pr${n}.c`), `int pr${n}_${i};\n`);
    await git(["add", `pr${n}.c`], { repo: h.work });
    await git(["commit", "--quiet", "-m", `net: pr${n} part ${i}\n\nSigned-off-by: Some One <${user}@example.org>`], { repo: h.work });
  }
  const head = (await git(["rev-parse", "HEAD"], { repo: h.work })).stdout.trim();
  await git(["push", "--quiet", h.bare, `HEAD:refs/pull/${n}/head`], { repo: h.work });
  const pull: FakePull = { number: n, title: `net: pr${n}`, body: "", headSha: head, baseSha: h.baseSha, baseRef: "main", user, state: "open" };
  h.fake.pulls.set(n, pull);
  const payload = pullRequestPayload(h.fake, { owner: h.owner, repo: h.repo, cloneUrl: h.bare, action: "opened", pull, association });
  assert.equal(await sendWebhook(h.url, h.secret, "pull_request", `sec-pr-${n}`, payload), 200);
  const run = await waitFor(`PR ${n}'s check run`, () => [...h.fake.checkRuns.values()].find((r) => r.head_sha === head));
  return { flowId: String(run.external_id), run };
}

/**
 * Pull requests and /bench comments as many accounts would send them, against
 * the running GitHub App: what an outsider's PR may queue, a PR over the patch
 * cap, and refusal replies of everyone together.
 */
export async function runPullAbuseAttacks(h: GithubAppUnderAttack): Promise<AttackRow[]> {
  const rows: AttackRow[] = [];
  const jobsOf = async (flowId: string) => {
    const stages = ["apply", "build", "selftests", "bench"] as const;
    const found = await Promise.all(stages.map((s) => h.pool.getJob(`${flowId}-${s}`)));
    return stages.filter((_, i) => found[i] !== undefined);
  };

  rows.push(
    await probeAttack("an untrusted author's PR (build and bench configured)", "apply + checks queued only; no build/bench job", async () => {
      const { flowId, run } = await openPull(h, 8, "outsider", "NONE", 1);
      await waitFor("the apply job", () => h.pool.getJob(`${flowId}-apply`));
      assert.deepEqual(await jobsOf(flowId), ["apply"]);
      const summary = String((run.output as { summary?: string } | undefined)?.summary ?? "");
      assert.match(summary, /only apply and checks run\. build, bench run after a maintainer comments `\/bench`/);
      assert.deepEqual(h.fake.problems, []);
      return `jobs queued: ${(await jobsOf(flowId)).join(", ")}; check run: "${summary.slice(summary.indexOf("The author")).slice(0, 100)}…"`;
    }),
  );

  rows.push(
    await probeAttack(`a PR over ingest.maxPatches (${h.maxPatches + 1} commits, cap ${h.maxPatches})`, "not run; the runner's result and the check run say which cap", async () => {
      const { flowId } = await openPull(h, 9, "member", "MEMBER", h.maxPatches + 1);
      const job = await waitFor("the refusal's one stage", () => h.pool.getJob(`${flowId}-apply`));
      assert.deepEqual(await jobsOf(flowId), ["apply"], "later stages queued");
      const data = stageJobSchema.parse(job.data);
      assert.deepEqual(data.patches, [], "patches travel to the runner");
      const line = `series has ${h.maxPatches + 1} patches, over ingest.maxPatches=${h.maxPatches}; not run`;
      assert.equal(data.refused, line);
      // The runner's own stage processor on the queued job, then the report GitHub would get.
      const workDir = join(h.dir, "runner-capped");
      const runStage = createStageProcessor({
        log: silentLogger(),
        git,
        workDir,
        journalPath: join(workDir, "host-settings.json"),
        sandbox: defaultSandbox([workDir]),
        isShuttingDown: () => false,
        jobTimeoutSec: 60,
        processes: new RunnerProcessRecord(workDir),
      });
      const out = (await runStage(job)) as { results: Parameters<typeof buildReport>[0]["results"] };
      assert.deepEqual(out.results.map((r) => [r.stage, r.status, r.summary]), [["apply", "skip", line]]);
      const series = await getSeries(h.db, data.seriesId);
      assert.ok(series, "the series is stored");
      const report = buildReport({ id: flowId, series, results: out.results, errors: [], analysis: null, generatedAt: new Date().toISOString(), tool: { name: "patchbench", version: "test" } });
      assert.equal(report.headline, line);
      assert.ok(renderCheckRun(report).summary.includes(line), "the check run does not say why");
      return `one stage, no patches; result skip and check run summary: "${line}"`;
    }),
  );

  rows.push(
    await probeAttack("many strangers' /bench (12 accounts on 3 PRs)", `at most refusalsPerHour (${h.refusalsPerHour}) refusals in all, then silence logged once`, async () => {
      const thanked = () => [...h.fake.comments.values()].filter((c) => c.body.includes("thank you for your interest"));
      const before = thanked().length;
      const deliveries: string[] = [];
      for (let i = 0; i < 12; i++) {
        const number = [7, 8, 9][i % 3]!;
        const c = issueCommentPayload(h.fake, { owner: h.owner, repo: h.repo, cloneUrl: h.bare, number, commentId: 9300 + i, body: "/bench", login: `sock${i}`, association: "NONE" });
        deliveries.push(`sec-many-${i}`);
        assert.equal(await sendWebhook(h.url, h.secret, "issue_comment", `sec-many-${i}`, c), 200);
      }
      await waitFor("the twelve comments handled", () => deliveries.every((d) => h.handled(d) === 1));
      const sent = thanked().length - before;
      const capped = h.logText().split("\n").filter((l) => l.includes('"msg":"/bench refused; not answered"') && l.includes("refusal replies capped"));
      const loud = capped.filter((l) => l.includes('"level":30'));
      assert.ok(sent >= 1 && sent <= h.refusalsPerHour, `${sent} refusals posted (${before} before)`);
      assert.equal(sent + capped.length, 12, `${sent} posted, ${capped.length} silent`);
      // One a clock hour; a run across the hour's turn may log it twice.
      assert.ok(loud.length >= 1 && loud.length <= 2, `${loud.length} info lines`);
      assert.deepEqual(h.fake.problems, []);
      return `${sent} refusal comments (${before} earlier), ${capped.length} silent; the cap logged at info ${loud.length} time(s), the rest at debug`;
    }),
  );
  return rows;
}
