import { existsSync } from "node:fs";
import { join } from "node:path";
import { type CandidateBpfPrograms, candidateBpfPrograms, seriesBpfChanges } from "../domain/candidate-bpf-programs.ts";
import { SERIES_BPF_PROGS_DIR } from "../domain/series-bpf-program.ts";
import type { Series } from "../domain/series.ts";
import { parseMessage } from "../ingest/mail/parse-message.ts";
import type { Git } from "../lib/git.ts";
import { mirrorPath } from "../runner/workspace/ensure-mirror.ts";
import type { Db } from "../store/open-store.ts";
import { getRawMailsById } from "../store/series-repository.ts";

export interface CandidateBpfSource {
  /** Repositories of the orchestrator that may hold the base commit, tried in order (missing ones skipped). */
  repos: readonly string[];
  /** The series' base commit; null when the series does not say. */
  baseCommit: string | null;
  /** The series' patch mails in order; null when some are not at hand. */
  patches: readonly Uint8Array[] | null;
}

const COMMIT = /^[0-9a-f]{7,64}$/i;

/**
 * The candidate tree's BPF selftest programs as far as they can be known without a build: the
 * base commit's SERIES_BPF_PROGS_DIR, read from a repository that already holds it (nothing is
 * fetched), with the series' diffs applied. Null when the base is not said or not at hand, or a
 * patch has no diff to read: never a guess.
 */
export async function readCandidateBpfPrograms(git: Git, src: CandidateBpfSource): Promise<CandidateBpfPrograms | null> {
  if (src.baseCommit === null || !COMMIT.test(src.baseCommit) || src.patches === null || src.patches.length === 0) return null;
  let found: { repo: string; commit: string } | null = null;
  for (const repo of src.repos) {
    if (!existsSync(repo)) continue;
    const r = await git(["rev-parse", "--verify", "--quiet", "--end-of-options", `${src.baseCommit}^{commit}`], { repo, okCodes: "any" });
    if (r.code === 0) {
      found = { repo, commit: r.stdout.trim() };
      break;
    }
  }
  if (!found) return null;
  const ls = await git(["ls-tree", "--name-only", "-z", found.commit, "--", `${SERIES_BPF_PROGS_DIR}/`], { repo: found.repo, okCodes: "any" });
  if (ls.code !== 0) return null;
  const bodies = await Promise.all(src.patches.map(async (raw) => (await parseMessage(raw)).body));
  const changes = seriesBpfChanges(bodies);
  if (!changes) return null;
  return candidateBpfPrograms(ls.stdout.split("\0").filter(Boolean), changes, found.commit);
}

/** The repositories of a mail series' tree on the orchestrator: its local path, and the runner's mirror when it shares the work folder. */
export function treeRepos(tree: { name: string; path: string | null }, workDir: string): string[] {
  return [...(tree.path ? [tree.path] : []), mirrorPath(workDir, tree.name)];
}

/** The bare mirror the GitHub app fetches a repository's pull requests into. */
export function githubMirrorDir(workDir: string, owner: string, repo: string): string {
  return join(workDir, "github-mirrors", `${owner}__${repo}.git`);
}

/**
 * A series' patch mails in order, from the mails at hand and else the store; null when one is
 * missing or the series is not a complete set of patches (a pull request, patches still missing).
 */
export async function seriesPatchMails(db: Db, series: Pick<Series, "kind" | "patches" | "complete">, atHand: ReadonlyMap<string, Uint8Array> = new Map()): Promise<Uint8Array[] | null> {
  if (series.kind !== "patch" || !series.complete || series.patches.length === 0) return null;
  const ids = series.patches.map((p) => p.messageId);
  const stored = await getRawMailsById(db, ids.filter((id) => !atHand.has(id)));
  const out: Uint8Array[] = [];
  for (const id of ids) {
    const raw = atHand.get(id) ?? stored.get(id);
    if (!raw) return null;
    out.push(raw);
  }
  return out;
}
