import type { ApplicationFunction, Context } from "probot";
import { findCommandLine, MAX_COMMAND_LENGTH } from "../commands/parse-bench-command.ts";
import type { Logger } from "../lib/logger.ts";
import type { GithubEvent } from "./github-event.ts";

export interface GithubAppDeps {
  /** Enqueue once per delivery id; false when this delivery was seen before. */
  enqueue: (event: GithubEvent) => Promise<boolean>;
  log: Logger;
}

/**
 * The Probot app: verify (Probot checks X-Hub-Signature-256), translate,
 * enqueue, answer. Nothing slow runs here: GitHub gives up on a webhook
 * after 10 s (https://docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-webhooks#respond-within-10-seconds),
 * and octokit/webhooks answers 202 after ~9 s anyway.
 */
export function createGithubApp(deps: GithubAppDeps): ApplicationFunction {
  return (app) => {
    const submit = async (event: GithubEvent) => {
      const fresh = await deps.enqueue(event);
      deps.log.info({ deliveryId: event.deliveryId, kind: event.kind, fresh }, fresh ? "webhook enqueued" : "webhook redelivered; ignored");
    };

    app.on(["pull_request.opened", "pull_request.synchronize", "pull_request.reopened", "pull_request.closed"], async (context) => {
      const p = context.payload;
      const installationId = p.installation?.id;
      if (!installationId) return;
      await submit({
        kind: "pull",
        action: p.action as "opened" | "synchronize" | "reopened" | "closed",
        deliveryId: context.id,
        installationId,
        owner: p.repository.owner.login,
        repo: p.repository.name,
        number: p.pull_request.number,
        title: p.pull_request.title,
        body: (p.pull_request.body ?? "").slice(0, 65_536),
        headSha: p.pull_request.head.sha,
        baseSha: p.pull_request.base.sha,
        cloneUrl: p.pull_request.base.repo.clone_url,
        authorLogin: p.pull_request.user?.login ?? "",
        authorAssociation: p.pull_request.author_association,
        authorType: p.pull_request.user?.type ?? "User",
        createdAt: p.pull_request.created_at ?? null,
      });
    });

    app.on("issue_comment.created", async (context: Context<"issue_comment.created">) => {
      const p = context.payload;
      const installationId = p.installation?.id;
      // Only comments on pull requests, and only those holding a /bench line.
      if (!installationId || !p.issue.pull_request) return;
      if (p.comment.user?.type === "Bot") return;
      const line = findCommandLine(p.comment.body ?? "");
      if (line === null) return;
      await submit({
        kind: "comment",
        deliveryId: context.id,
        installationId,
        owner: p.repository.owner.login,
        repo: p.repository.name,
        number: p.issue.number,
        commentId: p.comment.id,
        // Longer lines are refused by the parser; no need to carry more than that.
        command: line.slice(0, Math.max(4096, MAX_COMMAND_LENGTH + 1)),
        login: p.comment.user?.login ?? "",
        association: p.comment.author_association,
        userType: p.comment.user?.type ?? "User",
      });
    });

    app.on("check_run.rerequested", async (context) => {
      const p = context.payload;
      const installationId = p.installation?.id;
      const externalId = p.check_run.external_id;
      if (!installationId || !externalId) return;
      await submit({
        kind: "rerun",
        deliveryId: context.id,
        installationId,
        owner: p.repository.owner.login,
        repo: p.repository.name,
        externalId,
      });
    });
  };
}
