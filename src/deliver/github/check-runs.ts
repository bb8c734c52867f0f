import type { CheckRunOutput } from "../../report/render-check-run.ts";
import { batchAnnotations } from "../../report/render-check-run.ts";
import type { GithubOctokit } from "./github-client.ts";

export interface CheckRef {
  owner: string;
  repo: string;
  headSha: string;
  name: string;
  /** Our flow id: lets the run be found again (upsert) and a rerequest mapped back. */
  externalId: string;
  detailsUrl: string | null;
}

/**
 * Create the check run of a flow, or find the one already made for it: a
 * retried job must not add a second run. Looked up by external_id among the
 * runs of this name on the head commit.
 */
export async function upsertCheckRun(
  octokit: GithubOctokit,
  ref: CheckRef,
  knownId: number | null,
  fields: { status: "queued" | "in_progress"; title: string; summary: string },
): Promise<number> {
  let id = knownId;
  if (id === null) {
    const list = await octokit.request("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", {
      owner: ref.owner,
      repo: ref.repo,
      ref: ref.headSha,
      check_name: ref.name,
      filter: "all",
      per_page: 100,
    });
    const found = list.data.check_runs.find((r) => r.external_id === ref.externalId);
    id = found ? Number(found.id) : null;
  }
  const output = { title: fields.title, summary: fields.summary };
  if (id !== null) {
    await octokit.request("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", {
      owner: ref.owner,
      repo: ref.repo,
      check_run_id: id,
      status: fields.status,
      output,
      ...(fields.status === "in_progress" ? { started_at: new Date().toISOString() } : {}),
    });
    return id;
  }
  const created = await octokit.request("POST /repos/{owner}/{repo}/check-runs", {
    owner: ref.owner,
    repo: ref.repo,
    name: ref.name,
    head_sha: ref.headSha,
    external_id: ref.externalId,
    status: fields.status,
    output,
    ...(ref.detailsUrl ? { details_url: ref.detailsUrl } : {}),
  });
  return Number(created.data.id);
}

/**
 * Complete a check run with its report. GitHub takes at most 50 annotations
 * per request and appends those of later updates
 * (https://docs.github.com/en/rest/checks/runs#update-a-check-run), so the
 * first update carries the verdict and 50, each further one 50 more.
 */
export async function completeCheckRun(
  octokit: GithubOctokit,
  where: { owner: string; repo: string; checkRunId: number },
  out: CheckRunOutput,
): Promise<number> {
  const batches = batchAnnotations(out.annotations);
  let requests = 0;
  for (const [i, batch] of (batches.length ? batches : [[]]).entries()) {
    await octokit.request("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", {
      owner: where.owner,
      repo: where.repo,
      check_run_id: where.checkRunId,
      ...(i === 0 ? { status: "completed" as const, conclusion: out.conclusion, completed_at: new Date().toISOString() } : {}),
      output: { title: out.title, summary: out.summary, text: out.text, annotations: batch },
    });
    requests++;
  }
  return requests;
}

/**
 * Close a check run whose work was withdrawn (PR closed, or superseded by a
 * push). "cancelled" is the conclusion an app may set for that ("stale" is
 * GitHub's own: https://docs.github.com/en/rest/checks/runs#update-a-check-run).
 */
export async function cancelCheckRun(
  octokit: GithubOctokit,
  where: { owner: string; repo: string; checkRunId: number },
  reason: string,
  title = "cancelled",
): Promise<void> {
  await octokit.request("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", {
    owner: where.owner,
    repo: where.repo,
    check_run_id: where.checkRunId,
    status: "completed",
    conclusion: "cancelled",
    completed_at: new Date().toISOString(),
    output: { title, summary: reason },
  });
}
