import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { git } from "../../lib/git.ts";
import { fetchPullRequest } from "./fetch-pull-request.ts";
import { pullRequestToSeries } from "./pull-request-to-series.ts";

const dir = mkdtempSync(join(tmpdir(), "pb-gh-ingest-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A bare "GitHub" repo: main with one commit, a PR head (refs/pull/7/head) two commits ahead. */
async function makeRepo(): Promise<{ bare: string; base: string; head: string }> {
  const work = join(dir, "work");
  await git(["init", "--quiet", "-b", "main", work]);
  writeFileSync(join(work, "filter.c"), "int a;\n");
  await git(["add", "filter.c"], { repo: work });
  await git(["commit", "--quiet", "-m", "base"], { repo: work });
  const base = (await git(["rev-parse", "HEAD"], { repo: work })).stdout.trim();
  await git(["checkout", "--quiet", "-b", "topic"], { repo: work });
  writeFileSync(join(work, "filter.c"), "int a;\nint b;\n");
  await git(["commit", "--quiet", "-am", "bpf: add b\n\nBecause b is faster: TCP_RR +3%."], { repo: work, extraEnv: { GIT_AUTHOR_NAME: "Ada Hacker", GIT_AUTHOR_EMAIL: "ada@example.org" } });
  writeFileSync(join(work, "sel.c"), "test\n");
  await git(["add", "sel.c"], { repo: work });
  await git(["commit", "--quiet", "-m", "selftests: cover b"], { repo: work });
  const head = (await git(["rev-parse", "HEAD"], { repo: work })).stdout.trim();
  const bare = join(dir, "octo-linux.git");
  await git(["clone", "--quiet", "--bare", work, bare]);
  await git(["update-ref", "refs/pull/7/head", head], { repo: bare });
  return { bare, base, head };
}

test("a PR becomes a series of real format-patch mails on its merge-base", async () => {
  const { bare, base, head } = await makeRepo();
  const fetched = await fetchPullRequest(git, { mirrorDir: join(dir, "mirror.git"), cloneUrl: bare, number: 7, headSha: head, mergeBase: base, maxCommits: 10 });
  assert.equal(fetched.patches.length, 2);
  assert.deepEqual(fetched.changedFiles, ["filter.c", "sel.c"]);
  const first = Buffer.from(fetched.patches[0]!.raw).toString("utf8");
  assert.match(first, /^From 0{40} Mon Sep 17 00:00:00 2001\nFrom: Ada Hacker <ada@example\.org>\n/);
  assert.match(first, /^Subject: \[PATCH 1\/2\] bpf: add b$/m);
  assert.equal(fetched.patches[0]!.author, "Ada Hacker <ada@example.org>");

  const info = { owner: "octo", repo: "linux", number: 7, title: "bpf: b", body: "PR body", headSha: head, mergeBase: base, authorLogin: "ada", createdAt: "2025-01-15T10:00:00Z", tree: "bpf-next" };
  const { series, raw } = pullRequestToSeries(info, fetched.patches);
  assert.equal(series.source, "github");
  assert.equal(series.baseCommit, base);
  assert.equal(series.total, 2);
  assert.deepEqual(series.patches.map((p) => p.subject), ["bpf: add b", "selftests: cover b"]);
  assert.equal(series.patches[1]!.commit, head);
  assert.equal(raw.size, 2);
  assert.match(series.text ?? "", /TCP_RR \+3%/);
  assert.doesNotMatch(series.id, /:/);
  // Same head → same id; a force-push (other head) → another series version.
  assert.equal(pullRequestToSeries(info, fetched.patches).series.id, series.id);
  assert.notEqual(pullRequestToSeries({ ...info, headSha: base }, fetched.patches).series.id, series.id);

  // Over the cap nothing is formatted; the count goes to the cap rule (planFlow), which refuses the series.
  const over = await fetchPullRequest(git, { mirrorDir: join(dir, "mirror.git"), cloneUrl: bare, number: 7, headSha: head, mergeBase: base, maxCommits: 1 });
  assert.deepEqual([over.patches.length, over.commitCount], [0, 2]);
  await assert.rejects(
    fetchPullRequest(git, { mirrorDir: join(dir, "mirror.git"), cloneUrl: bare, number: 7, headSha: head, mergeBase: "0".repeat(40), maxCommits: 5 }),
    /not an ancestor|Not a valid/,
  );
});
