import { type FlowProducer, type Job, UnrecoverableError } from "bullmq";
import { authorizeGithub } from "../commands/authorize-bench.ts";
import { benchPolicyOf, type BenchRequestInput, describeBenchRun, handleBenchRequest, seriesProgramsAsked, settleBenchDecision } from "../commands/handle-bench-request.ts";
import { githubMirrorDir, readCandidateBpfPrograms, seriesPatchMails } from "../commands/read-candidate-bpf-programs.ts";
import type { BenchConfig, Config, TreeConfig } from "../config/schema.ts";
import { upsertCheckRun } from "../deliver/github/check-runs.ts";
import { detailsUrlOf } from "../deliver/github/deliver-github.ts";
import type { GithubOctokit, OctokitFor } from "../deliver/github/github-client.ts";
import { type GithubTarget, getPullState, getTarget, prKey, setPullState, setTarget } from "../store/github-repository.ts";
import { fetchPullRequest } from "../ingest/github/fetch-pull-request.ts";
import { pullRequestToSeries } from "../ingest/github/pull-request-to-series.ts";
import { describeError, errorCode } from "../lib/errors.ts";
import type { Git } from "../lib/git.ts";
import type { Logger } from "../lib/logger.ts";
import type { BenchLimiter } from "../queue/bench-limiter.ts";
import type { CancelFlow } from "../queue/cancel-flow.ts";
import { enqueueFlow } from "../queue/enqueue-flow.ts";
import { planFlow } from "../queue/plan-flow.ts";
import { benchEstimatorFor } from "../commands/bench-estimator.ts";
import { flowsOnHead, newestHead } from "../commands/flows-on-head.ts";
import { knownApplyFailure } from "../commands/known-apply-failure.ts";
import { getFlow } from "../store/flow-repository.ts";
import type { Db } from "../store/open-store.ts";
import { getRawMails, getSeries, saveSeries } from "../store/series-repository.ts";
import type { CandidateBpfPrograms } from "../domain/candidate-bpf-programs.ts";
import { type GithubEvent, githubEventSchema } from "./github-event.ts";
import { withdrawPullFlows } from "./withdraw-pull-flows.ts";
import { describeQueuedStart, type QueuedStart } from "./describe-queued-start.ts";

export interface GithubProcessorDeps {
  db: Db;
  config: Config;
  flows: FlowProducer;
  log: Logger;
  git: Git;
  octokitFor: OctokitFor;
  installationId: string;
  /** Removes a flow's queued jobs (a closed or pushed PR's earlier flows). */
  cancelFlow: CancelFlow;
  /** /bench rate limits (shared with the mail poller through Redis). */
  limiter: BenchLimiter;
  /**
   * A queued flow's place in its pool and estimated start, as the dashboard's queue page has
   * them (loadFlowStart): one estimate for the page and the acknowledgement. Null: not known.
   */
  flowStart: (flowId: string) => Promise<QueuedStart | null>;
}

function treeOf(config: Config): TreeConfig {
  const name = config.global.github.tree ?? config.global.defaultTree;
  const tree = config.trees.find((t) => t.name === name);
  if (!tree) throw new UnrecoverableError(`github.tree "${name}" is not a configured tree`);
  return tree;
}

interface PullDetails {
  number: number;
  title: string;
  body: string;
  headSha: string;
  baseSha: string;
  cloneUrl: string;
  authorLogin: string;
  createdAt: string | null;
}

interface PlanOptions {
  bench?: BenchConfig;
  pool?: string;
  /** Makes the flow id differ from the PR's own flow (a /bench, a re-run). */
  salt?: string;
  /** Runner stages instead of the tree's (checks-only for untrusted authors). */
  stages?: TreeConfig["stages"];
}

/**
 * The work behind webhooks (a BullMQ processor, one job per delivery):
 * PR → series → flow + check run (a push withdraws the old head's queued
 * flows); /bench → the shared handler (src/commands/handle-bench-request.ts),
 * acknowledge, flow; closed → withdraw; rerequested → a new flow of the same series.
 */
export function createGithubProcessor(deps: GithubProcessorDeps) {
  const { db, config } = deps;
  const gh = config.global.github;

  /** PR → series (real format-patch on the merge-base) → planned flow. */
  async function planPull(event: { installationId: number; owner: string; repo: string }, pr: PullDetails, octokit: GithubOctokit, opts: PlanOptions = {}) {
    const { bench, pool, salt, stages } = opts;
    const commits = await octokit.request("GET /repos/{owner}/{repo}/pulls/{pull_number}/commits", {
      owner: event.owner,
      repo: event.repo,
      pull_number: pr.number,
      per_page: 100,
    });
    const compare = await octokit.request("GET /repos/{owner}/{repo}/compare/{basehead}", {
      owner: event.owner,
      repo: event.repo,
      basehead: `${pr.baseSha}...${pr.headSha}`,
      per_page: 1,
    });
    const mergeBase = compare.data.merge_base_commit.sha;
    const token = (await octokit.auth({ type: "installation" }).catch(() => null)) as { token?: string } | null;
    const fetched = await fetchPullRequest(deps.git, {
      mirrorDir: githubMirrorDir(config.paths.workDir, event.owner, event.repo),
      cloneUrl: pr.cloneUrl,
      number: pr.number,
      headSha: pr.headSha,
      mergeBase,
      token: pr.cloneUrl.startsWith("https://") ? (token?.token ?? null) : null,
      // Over ingest.maxPatches nothing is formatted: planFlow turns the count into the refusal.
      maxCommits: config.global.ingest.maxPatches,
    });
    if (fetched.patches.length !== commits.data.filter((c) => (c.parents?.length ?? 1) <= 1).length) {
      deps.log.warn({ pr: pr.number, api: commits.data.length, git: fetched.patches.length }, "GitHub and git disagree on the PR's commits; using git's");
    }
    const tree0 = treeOf(config);
    const tree = { ...tree0, ...(pool ? { pool } : {}), ...(stages ? { stages } : {}) };
    const { series, raw } = pullRequestToSeries(
      { owner: event.owner, repo: event.repo, number: pr.number, title: pr.title, body: pr.body, headSha: pr.headSha, mergeBase, authorLogin: pr.authorLogin, createdAt: pr.createdAt, tree: tree.name },
      fetched.patches,
    );
    if (fetched.patches.length === 0) series.total = fetched.commitCount;
    await saveSeries(db, series, raw);
    const plan = planFlow({ series, raw, tree, installationId: salt ? `${deps.installationId}-${salt}` : deps.installationId, caps: config.global.ingest, ...(bench ? { bench } : {}) });
    return { series, plan, tree, mergeBase, changedFiles: fetched.changedFiles };
  }

  async function startCheck(
    event: { installationId: number; owner: string; repo: string },
    pr: PullDetails,
    octokit: GithubOctokit,
    planned: Awaited<ReturnType<typeof planPull>>,
    note = "",
  ): Promise<void> {
    const { plan } = planned;
    const existing = await getTarget(db, plan.flowId);
    const checkRunId = await upsertCheckRun(
      octokit,
      { owner: event.owner, repo: event.repo, headSha: pr.headSha, name: gh.checkName, externalId: plan.flowId, detailsUrl: detailsUrlOf(config, plan.flowId) },
      existing?.checkRunId ?? null,
      {
        status: "queued",
        title: "queued",
        summary: `Queued for runner pool \`${planned.tree.pool}\`: ${planned.series.total} commit(s) on merge-base \`${planned.mergeBase.slice(0, 12)}\` (tree ${planned.tree.name}; stages ${planned.tree.stages.join(" → ")}).${note}`,
      },
    );
    const target: GithubTarget = existing ?? {
      installationId: event.installationId,
      owner: event.owner,
      repo: event.repo,
      number: pr.number,
      headSha: pr.headSha,
      kind: "check",
      checkRunId,
      commentId: null,
      request: null,
      changedFiles: planned.changedFiles,
      state: "queued",
    };
    await setTarget(db, plan.flowId, { ...target, checkRunId });
    await enqueueFlow({ db, flows: deps.flows, log: deps.log }, plan);
    const key = prKey(event.owner, event.repo, pr.number);
    const st = await getPullState(db, key);
    if (!st.flows.includes(plan.flowId)) await setPullState(db, key, { ...st, flows: [...st.flows, plan.flowId] });
  }

  async function comment(octokit: GithubOctokit, e: { owner: string; repo: string; number: number }, body: string): Promise<number> {
    const r = await octokit.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
      owner: e.owner,
      repo: e.repo,
      issue_number: e.number,
      body,
    });
    return Number(r.data.id);
  }

  /** Flows waiting or running on a pool, oldest first, with their estimated runner time. */
  async function pullDetails(octokit: GithubOctokit, owner: string, repo: string, number: number): Promise<PullDetails & { state: string }> {
    const r = await octokit.request("GET /repos/{owner}/{repo}/pulls/{pull_number}", { owner, repo, pull_number: number });
    const p = r.data;
    return {
      number,
      title: p.title,
      body: p.body ?? "",
      headSha: p.head.sha,
      baseSha: p.base.sha,
      cloneUrl: p.base.repo.clone_url,
      authorLogin: p.user.login,
      createdAt: p.created_at,
      state: p.state,
    };
  }

  /**
   * The candidate tree's BPF selftest programs for a /bench naming some: the series of the newest
   * flow on the PR's current head (its commits fetched into the PR mirror, on its merge-base).
   * Null when no flow fetched that head here, or its base is not in the mirror.
   */
  async function candidateProgramsOf(e: { owner: string; repo: string }, flows: readonly string[], headSha: string): Promise<CandidateBpfPrograms | null> {
    const last = (await flowsOnHead(db, flows, headSha)).at(-1);
    const flow = last ? await getFlow(db, last) : null;
    const series = flow ? await getSeries(db, flow.seriesId) : null;
    if (!series) return null;
    return readCandidateBpfPrograms(deps.git, {
      repos: [githubMirrorDir(config.paths.workDir, e.owner, e.repo)],
      baseCommit: series.baseCommit,
      patches: await seriesPatchMails(db, series),
    });
  }

  const withdrawDeps = () => ({ db, cancelFlow: deps.cancelFlow, log: deps.log });

  async function onPull(e: Extract<GithubEvent, { kind: "pull" }>, octokit: GithubOctokit) {
    const key = prKey(e.owner, e.repo, e.number);
    if (e.action === "closed") {
      const w = await withdrawPullFlows(withdrawDeps(), octokit, key, { why: "closed" });
      return { cancelled: w.withdrawn };
    }
    const pr: PullDetails = e;
    // A fork PR of someone the repository does not know runs no code of theirs on a runner until a maintainer asks.
    const trusted = authorizeGithub({ login: e.authorLogin, association: e.authorAssociation, type: e.authorType }, { allowlist: gh.bench.allowlist }).allowed;
    const checksOnly = !trusted && gh.untrustedAuthors === "checks-only";
    const tree = treeOf(config);
    const stages = checksOnly ? tree.stages.filter((s) => s === "apply") : undefined;
    const planned = await planPull(e, pr, octokit, stages ? { stages } : {});
    // A push replaces what was queued for the old head.
    const withdrawn =
      e.action === "synchronize"
        ? (await withdrawPullFlows(withdrawDeps(), octokit, key, { why: "superseded", except: planned.plan.flowId, headSha: e.headSha })).withdrawn
        : [];
    const note = checksOnly
      ? `\n\nThe author is not an owner, member or collaborator: only apply and checks run. ${tree.stages.filter((s) => s !== "apply").join(", ") || "Other stages"} run after a maintainer comments \`/bench\` on the pull request.`
      : "";
    await startCheck(e, pr, octokit, planned, note);
    return { flowId: planned.plan.flowId, checksOnly, superseded: withdrawn };
  }

  async function onComment(e: Extract<GithubEvent, { kind: "comment" }>, octokit: GithubOctokit) {
    const where = { owner: e.owner, repo: e.repo, number: e.number };
    const key = prKey(e.owner, e.repo, e.number);
    const st = await getPullState(db, key);
    let pending: BenchRequestInput["pending"] = null;
    if (st.pendingBench) {
      const t = await getTarget(db, st.pendingBench);
      if (t && (t.state === "queued" || t.state === "in_progress")) pending = { flowId: st.pendingBench, request: t.request ?? "/bench" };
    }
    const tree = treeOf(config);
    // Kernels an earlier flow of this head built are booted again: the estimate counts no build.
    const estimator = await benchEstimatorFor(db, tree.name, null, await flowsOnHead(db, st.flows, await newestHead(db, st.flows)));
    const policy = benchPolicyOf(config, estimator.estimateSeconds);
    // An allowed sender's arm naming the series' BPF programs: the PR's current head is asked for
    // now (and used for the run), so the programs are those of the head that would be built.
    const asks =
      pending === null &&
      seriesProgramsAsked(e.command).length > 0 &&
      authorizeGithub({ login: e.login, association: e.association, type: e.userType }, { allowlist: gh.bench.allowlist }).allowed;
    const prNow = asks ? await pullDetails(octokit, e.owner, e.repo, e.number) : null;
    const candidatePrograms = prNow
      ? await candidateProgramsOf(e, st.flows, prNow.headSha).catch((err: unknown) => {
          deps.log.warn({ pr: key, err: describeError(err) }, "/bench: the candidate tree's BPF programs could not be read");
          return null;
        })
      : null;
    const input: BenchRequestInput = {
      sender: { channel: "github", login: e.login, association: e.association, type: e.userType },
      command: e.command,
      place: key,
      tree: { bench: tree.bench, stages: tree.stages, pool: tree.pool },
      pending,
      candidatePrograms,
    };
    const d = await settleBenchDecision(handleBenchRequest(input, policy), input, policy, (g) => deps.limiter.consume(g));
    if (d.kind === "ignore") return { ignored: true };
    if (d.kind === "silent") {
      // Past the refusal cap only its first silence is logged at info: each of many accounts' comments would be a line.
      const fields = { pr: key, login: e.login, reason: d.reason };
      if (d.quiet) deps.log.debug(fields, "/bench refused; not answered");
      else deps.log.info(fields, "/bench refused; not answered");
      return { silent: d.reason };
    }
    if (d.kind === "reply") {
      await comment(octokit, where, d.reply);
      return { replied: d.reason };
    }
    // Seen: a reaction within seconds, before any slow work.
    await octokit.request("POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", {
      owner: e.owner,
      repo: e.repo,
      comment_id: e.commentId,
      content: "eyes",
    });
    const pr = prNow ?? (await pullDetails(octokit, e.owner, e.repo, e.number));
    if (pr.state !== "open") {
      await comment(octokit, where, "**patchbench:** this pull request is closed; nothing to benchmark.\n");
      return { closed: true };
    }
    const failed = await knownApplyFailure(db, st.flows, pr.headSha);
    if (failed) {
      await comment(
        octokit,
        where,
        `**patchbench:** nothing to benchmark: this head does not apply (${failed.summary.split("\n")[0]!.replace(/[`@<>]/g, "'")}; flow \`${failed.flowId}\`). Push a branch that applies and ask again.\n`,
      );
      return { replied: "does not apply" };
    }
    // Every stage of the tree: a maintainer's /bench is also the approval of an untrusted author's PR.
    const p = await planPull(e, pr, octokit, { bench: d.bench, pool: d.pool, stages: d.stages, salt: `bench-${e.commentId}` });
    const created = await enqueueFlow({ db, flows: deps.flows, log: deps.log }, p.plan);
    const start = await deps.flowStart(p.plan.flowId);
    const ackId = await comment(
      octokit,
      where,
      `<!-- patchbench:${p.plan.flowId} -->\n**patchbench:** queued, ${describeQueuedStart(start, d.pool)} (this run ≈ ${Math.ceil(d.estimateSec / 60)} min of runner time: ${describeBenchRun(d, estimator.costs)}). Results will replace this comment.\n\nRequested: \`${e.command.replace(/`/g, "'")}\`\n`,
    );
    await setTarget(db, p.plan.flowId, {
      installationId: e.installationId,
      owner: e.owner,
      repo: e.repo,
      number: e.number,
      headSha: pr.headSha,
      kind: "bench",
      checkRunId: null,
      commentId: ackId,
      request: e.command,
      changedFiles: p.changedFiles,
      state: "queued",
    });
    await setPullState(db, key, { flows: [...st.flows, p.plan.flowId], pendingBench: p.plan.flowId });
    return { flowId: p.plan.flowId, created: created.created, position: start?.poolPosition ?? null };
  }

  async function onRerun(e: Extract<GithubEvent, { kind: "rerun" }>, octokit: GithubOctokit) {
    const old = await getTarget(db, e.externalId);
    const flow = await getFlow(db, e.externalId);
    if (!old || !flow) return { unknown: e.externalId };
    const series = await getSeries(db, flow.seriesId);
    if (!series) return { unknown: e.externalId };
    const raw = await getRawMails(db, series.id);
    const tree0 = treeOf(config);
    // The same plan (stages too: a checks-only flow stays checks-only).
    const old0 = JSON.parse(flow.plan) as { bench?: BenchConfig; stages?: TreeConfig["stages"] };
    const bench = old0.bench;
    const tree = { ...tree0, ...(old0.stages ? { stages: old0.stages } : {}) };
    const plan = planFlow({ series, raw, tree, installationId: `${deps.installationId}-rerun-${e.deliveryId}`, caps: config.global.ingest, ...(bench ? { bench } : {}) });
    const checkRunId = await upsertCheckRun(
      octokit,
      { owner: e.owner, repo: e.repo, headSha: old.headSha, name: gh.checkName, externalId: plan.flowId, detailsUrl: detailsUrlOf(config, plan.flowId) },
      null,
      { status: "queued", title: "queued (re-run)", summary: `Re-run requested; queued for runner pool \`${tree.pool}\`.` },
    );
    await setTarget(db, plan.flowId, { ...old, kind: "check", checkRunId, commentId: null, state: "queued" });
    await enqueueFlow({ db, flows: deps.flows, log: deps.log }, plan);
    const key = prKey(e.owner, e.repo, old.number);
    const st = await getPullState(db, key);
    await setPullState(db, key, { ...st, flows: [...st.flows, plan.flowId] });
    return { flowId: plan.flowId };
  }

  return async (job: Job): Promise<unknown> => {
    const parsed = githubEventSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid github job: ${parsed.error.message}`);
    const e = parsed.data;
    const log = deps.log.child({ deliveryId: e.deliveryId, kind: e.kind });
    try {
      const octokit = await deps.octokitFor(e.installationId);
      const out = e.kind === "pull" ? await onPull(e, octokit) : e.kind === "comment" ? await onComment(e, octokit) : await onRerun(e, octokit);
      log.info({ out }, "github event handled");
      return out;
    } catch (err) {
      const code = errorCode(err);
      log.error({ err: describeError(err), code }, "github event failed");
      if (code === "input" || code === "config") throw new UnrecoverableError(describeError(err));
      throw err;
    }
  };
}
