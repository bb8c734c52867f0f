import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { inputError } from "../../lib/errors.ts";
import type { Git } from "../../lib/git.ts";
import type { PullRequestPatch } from "./pull-request-to-series.ts";

export interface FetchPullRequestInput {
  /** Bare mirror of the repository (created on first use). */
  mirrorDir: string;
  /** Clone URL of the base repository (it serves refs/pull/N/head). */
  cloneUrl: string;
  number: number;
  headSha: string;
  mergeBase: string;
  /** Installation token for private repositories; passed to git through env, never argv. */
  token?: string | null;
  maxCommits: number;
  signal?: AbortSignal;
}

export interface FetchedPullRequest {
  /** Empty when the PR has more than maxCommits commits (commitCount says how many). */
  patches: PullRequestPatch[];
  commitCount: number;
  changedFiles: string[];
}

const SHA = /^[0-9a-f]{40}$/;

/**
 * Fetch a PR head into a bare mirror and turn mergeBase..head into real
 * `git format-patch` output, one mbox message per commit (merges are left
 * out, as format-patch does).
 */
export async function fetchPullRequest(git: Git, input: FetchPullRequestInput): Promise<FetchedPullRequest> {
  if (!SHA.test(input.headSha) || !SHA.test(input.mergeBase)) throw inputError("PR head or merge-base is not a commit id");
  mkdirSync(input.mirrorDir, { recursive: true });
  const repo = input.mirrorDir;
  const opts = input.signal ? { signal: input.signal } : {};
  await git(["init", "--quiet", "--bare", repo], opts);
  // The token goes through GIT_CONFIG_* variables: argv is visible to every user of the machine.
  const extraEnv: Record<string, string> = input.token
    ? {
        GIT_CONFIG_COUNT: "1",
        GIT_CONFIG_KEY_0: "http.extraHeader",
        GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from(`x-access-token:${input.token}`).toString("base64")}`,
      }
    : {};
  await git(["fetch", "--quiet", "--no-tags", "--", input.cloneUrl, `+refs/pull/${input.number}/head:refs/patchbench/pull/${input.number}`], {
    repo,
    extraEnv,
    timeoutMs: 15 * 60_000,
    ...opts,
  });
  const have = await git(["cat-file", "-t", input.headSha], { repo, okCodes: "any", ...opts });
  if (have.stdout.trim() !== "commit") {
    throw inputError(`PR #${input.number} head ${input.headSha.slice(0, 12)} is not in refs/pull/${input.number}/head (pushed again meanwhile?)`);
  }
  const anc = await git(["merge-base", "--is-ancestor", input.mergeBase, input.headSha], { repo, okCodes: "any", ...opts });
  if (anc.code !== 0) throw inputError(`merge-base ${input.mergeBase.slice(0, 12)} is not an ancestor of the PR head`);
  const range = `${input.mergeBase}..${input.headSha}`;
  const count = Number((await git(["rev-list", "--count", "--no-merges", range], { repo, ...opts })).stdout.trim());
  if (count === 0) throw inputError(`PR #${input.number} has no commits over its base`);
  // Too many: format nothing; the caller's cap rule (domain/series-caps) reports it as the result.
  if (count > input.maxCommits) return { patches: [], commitCount: count, changedFiles: [] };

  const log = await git(["log", "--reverse", "--no-merges", "--format=%H%x00%an <%ae>%x00%s%x00%B%x1e", range], { repo, ...opts });
  const commits = log.stdout
    .split("\x1e")
    .map((r) => r.replace(/^\n/, ""))
    .filter((r) => r.length > 0)
    .map((r) => {
      const [sha, author, subject, message] = r.split("\x00");
      return { sha: sha ?? "", author: author ?? "", subject: subject ?? "", message: (message ?? "").trimEnd() };
    });
  const out = mkdtempSync(join(repo, "format-patch-"));
  try {
    await git(["format-patch", "--quiet", "--no-signature", "--zero-commit", "-o", out, range], { repo, ...opts });
    const files = readdirSync(out).filter((f) => f.endsWith(".patch")).sort();
    if (files.length !== commits.length) throw new Error(`format-patch wrote ${files.length} patches for ${commits.length} commits`);
    const patches = commits.map((c, i) => ({ ...c, raw: new Uint8Array(readFileSync(join(out, files[i]!))) }));
    const diff = await git(["diff", "--name-only", "-z", input.mergeBase, input.headSha], { repo, ...opts });
    return { patches, commitCount: count, changedFiles: diff.stdout.split("\0").filter(Boolean) };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
