import { stableId } from "../../domain/ids.ts";
import type { RawMails, Series } from "../../domain/series.ts";

/** What ingest needs to know about a pull request (translated from the webhook / REST answers). */
export interface PullRequestInfo {
  owner: string;
  repo: string;
  number: number;
  title: string;
  body: string;
  headSha: string;
  /** The merge-base of base and head: the commit the series applies to. */
  mergeBase: string;
  authorLogin: string;
  createdAt: string | null;
  /** Tree the PR is reviewed against (config). */
  tree: string | null;
}

export interface PullRequestPatch {
  sha: string;
  subject: string;
  /** "Name <email>" of the commit author. */
  author: string;
  /** Full commit message. */
  message: string;
  /** `git format-patch` output of this one commit (an mbox message). */
  raw: Uint8Array;
}

/** Message-ids for patches that never were mail: stable per repo, PR and commit. */
export function githubMessageId(owner: string, repo: string, number: number, sha: string): string {
  return `pr${number}.${sha.slice(0, 12)}.${owner}.${repo}@github.patchbench`.replace(/[^A-Za-z0-9.@_-]/g, "_");
}

/**
 * Pure: a PR and its commits (oldest first, as format-patch wrote them) →
 * one Series (source "github") and the raw patches keyed by message-id.
 * One PR head is one series version: a force-push (new head) is a new
 * series id, so it gets its own flow.
 */
export function pullRequestToSeries(pr: PullRequestInfo, patches: readonly PullRequestPatch[]): { series: Series; raw: RawMails } {
  const raw = new Map<string, Uint8Array>();
  const seriesPatches = patches.map((p, i) => {
    const messageId = githubMessageId(pr.owner, pr.repo, pr.number, p.sha);
    raw.set(messageId, p.raw);
    return { index: i + 1, messageId, subject: p.subject, author: p.author, commit: p.sha };
  });
  const first = patches[0];
  const series: Series = {
    id: stableId("series", "github", `${pr.owner}/${pr.repo}`, String(pr.number), pr.headSha, pr.mergeBase),
    source: "github",
    title: pr.title,
    tree: pr.tree,
    version: 1,
    rfc: false,
    resend: false,
    total: patches.length,
    kind: "patch",
    cover: null,
    patches: seriesPatches,
    missing: [],
    complete: true,
    baseCommit: pr.mergeBase,
    changeId: `github:${pr.owner}/${pr.repo}#${pr.number}`,
    trailers: [],
    previousVersion: null,
    author: first?.author ?? pr.authorLogin,
    date: pr.createdAt,
    text: [pr.title, pr.body, ...patches.map((p) => p.message)].filter(Boolean).join("\n\n"),
  };
  return { series, raw };
}
