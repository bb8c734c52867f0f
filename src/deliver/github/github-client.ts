import { Probot, type ProbotOctokit } from "probot";
import type { Logger } from "../../lib/logger.ts";
import type { GithubAppSettings } from "./github-app-settings.ts";

export type GithubOctokit = ProbotOctokit;

/** How every GitHub call gets its client: an installation-scoped Octokit (injected everywhere). */
export type OctokitFor = (installationId: number) => Promise<GithubOctokit>;

/**
 * The Probot instance of the app: verifies webhook signatures and mints
 * installation tokens (JWT → POST /app/installations/{id}/access_tokens).
 * Built by the entry point; nothing connects at import time.
 */
export function createGithubProbot(settings: GithubAppSettings, log: Logger): Probot {
  return new Probot({
    appId: settings.appId,
    privateKey: settings.privateKey,
    secret: settings.webhookSecret,
    baseUrl: settings.baseUrl,
    log: log.child({ name: "github" }),
  });
}

export function octokitForProbot(probot: Probot): OctokitFor {
  return (installationId) => probot.auth(installationId);
}
