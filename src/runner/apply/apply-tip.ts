import type { ApplyData, StageResult } from "../../domain/results.ts";
import { infraError } from "../../lib/errors.ts";
import type { Git } from "../../lib/git.ts";
import type { StageJob } from "../../queue/payloads.ts";
import { ensureMirror } from "../workspace/ensure-mirror.ts";
import { isUpstreamCommit } from "../workspace/select-base.ts";
import { flowRef } from "./flow-ref.ts";

export interface TipDeps {
  git: Git;
  workDir: string;
  fetchIntervalMs?: number;
  signal?: AbortSignal;
}

async function hasCommit(git: Git, repo: string, sha: string): Promise<boolean> {
  return (await git(["cat-file", "-e", "--end-of-options", `${sha}^{commit}`], { repo, okCodes: "any" })).code === 0;
}

/**
 * The tree's mirror holding both commits of a tip job: fetched again when a commit is not there
 * yet (the tip was read after this runner's last fetch). Missing after that: an infrastructure
 * error (the orchestrator read it from the same origin), retried like one.
 */
export async function mirrorWithTip(job: StageJob, tip: { base: string; head: string }, deps: TipDeps): Promise<{ repo: string; notes: string[] }> {
  const sig = deps.signal ? { signal: deps.signal } : {};
  let mirror = await ensureMirror(job.tree, { git: deps.git, workDir: deps.workDir, fetchIntervalMs: deps.fetchIntervalMs ?? 600_000, ...sig });
  const missing = async () => {
    const out: string[] = [];
    for (const c of [tip.base, tip.head]) if (!(await hasCommit(deps.git, mirror.repo, c))) out.push(c);
    return out;
  };
  if ((await missing()).length > 0) mirror = await ensureMirror(job.tree, { git: deps.git, workDir: deps.workDir, fetchIntervalMs: 0, ...sig });
  const gone = await missing();
  if (gone.length > 0) throw infraError(`${job.tree.name}: commit(s) ${gone.map((c) => c.slice(0, 12)).join(", ")} not in the tree's mirror after a fetch`);
  return { repo: mirror.repo, notes: mirror.notes };
}

/**
 * The apply stage of a tree tip: nothing to apply. Checks that the new tip is on the tree's branch
 * and that the previous measured tip is its ancestor (a rewritten branch is said, not measured
 * across), and keeps the tip as the flow's head for the later stages.
 */
export async function applyTip(
  job: StageJob,
  tip: { base: string; head: string },
  data: ApplyData,
  done: (status: StageResult["status"], summary: string) => StageResult<ApplyData>,
  deps: TipDeps,
): Promise<StageResult<ApplyData>> {
  const { git } = deps;
  const mirror = await mirrorWithTip(job, tip, deps);
  const [b, h] = [tip.base.slice(0, 12), tip.head.slice(0, 12)];
  data.baseNotes = [...mirror.notes];
  if (!(await isUpstreamCommit(git, mirror.repo, tip.head, job.tree.branch))) {
    return done("skip", `${job.tree.name} tip ${h} is no longer on ${job.tree.branch} (the branch was rewritten): not measured`);
  }
  const ancestor = await git(["merge-base", "--is-ancestor", "--end-of-options", tip.base, tip.head], { repo: mirror.repo, okCodes: "any" });
  if (ancestor.code !== 0) {
    return done("skip", `the previous measured tip ${b} is not an ancestor of ${h} (${job.tree.branch} was rewritten): not measured across it`);
  }
  const count = await git(["rev-list", "--count", "--first-parent", `${tip.base}..${tip.head}`], { repo: mirror.repo });
  const commits = Number(count.stdout.trim());
  data.baseCommit = tip.base;
  data.baseRule = "given";
  data.head = tip.head;
  data.baseNotes.push(`tree tip ${h}, measured against the previous measured tip ${b}`);
  await git(["update-ref", flowRef(job.flowId), tip.head], { repo: mirror.repo });
  return done("pass", `${job.tree.name} tip ${h} against the previous measured tip ${b}: ${commits} first-parent commit(s) in between`);
}
