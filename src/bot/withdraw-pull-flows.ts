import { cancelCheckRun } from "../deliver/github/check-runs.ts";
import type { GithubOctokit } from "../deliver/github/github-client.ts";
import { getPullState, getTarget, setPullState, setTarget } from "../store/github-repository.ts";
import type { Logger } from "../lib/logger.ts";
import { type CancelFlow, withdrawFlows } from "../queue/cancel-flow.ts";
import type { Db } from "../store/open-store.ts";

/**
 * Withdraw a PR's pending flows: closed (all of them; a running one finishes
 * but its report stays quiet) or superseded by a push (the queued ones; a
 * running one reports on its own, older commit). Queued jobs go through the
 * same withdrawal as a superseded mail version; check runs are completed as
 * `cancelled`, a /bench acknowledgement says why.
 */
export async function withdrawPullFlows(
  deps: { db: Db; cancelFlow: CancelFlow; log: Logger },
  octokit: GithubOctokit,
  key: string,
  opts: { why: "closed" | "superseded"; except?: string; headSha?: string },
): Promise<{ withdrawn: string[] }> {
  const { db } = deps;
  const st = await getPullState(db, key);
  const open: string[] = [];
  for (const flowId of st.flows) {
    if (flowId === opts.except) continue;
    const t = await getTarget(db, flowId);
    if (t && t.state !== "completed" && t.state !== "cancelled") open.push(flowId);
  }
  const w = await withdrawFlows({ ...deps, log: deps.log.child({ pr: key }) }, open, {
    status: opts.why === "closed" ? "cancelled" : "superseded",
    by: opts.why === "closed" ? "PR closed" : `push ${opts.headSha ?? ""}`.trim(),
  });
  const marked = opts.why === "closed" ? open : w.withdrawn;
  const head = opts.headSha ? ` (new head \`${opts.headSha.slice(0, 12)}\`)` : "";
  for (const flowId of marked) {
    const t = (await getTarget(db, flowId))!;
    await setTarget(db, flowId, { ...t, state: "cancelled" });
    if (t.kind === "check" && t.checkRunId !== null) {
      const [summary, title] =
        opts.why === "closed"
          ? ["The pull request was closed; pending work was withdrawn.", "cancelled"]
          : [`Superseded by a push${head}; the queued work for this commit was withdrawn.`, "superseded"];
      await cancelCheckRun(octokit, { owner: t.owner, repo: t.repo, checkRunId: t.checkRunId }, summary, title);
    } else if (t.kind === "bench" && t.commentId !== null) {
      const why =
        opts.why === "closed"
          ? "cancelled — the pull request was closed before the benchmark ran."
          : `superseded — the pull request was updated${head} before the benchmark ran; comment \`/bench\` again to measure the new head.`;
      await octokit.request("PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}", {
        owner: t.owner,
        repo: t.repo,
        comment_id: t.commentId,
        body: `<!-- patchbench:${flowId} -->\n**patchbench:** ${why}\n`,
      });
    }
  }
  const pendingBench = st.pendingBench && !marked.includes(st.pendingBench) && opts.why !== "closed" ? st.pendingBench : null;
  await setPullState(db, key, { flows: st.flows, pendingBench });
  deps.log.info({ pr: key, why: opts.why, withdrawn: marked, running: w.running }, "PR flows withdrawn");
  return { withdrawn: marked };
}
