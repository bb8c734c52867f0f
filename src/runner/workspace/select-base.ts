import type { BaseRule } from "../../domain/results.ts";
import type { Git } from "../../lib/git.ts";
import { infraError } from "../../lib/errors.ts";
import type { Preimage } from "./parse-preimages.ts";

export interface BaseChoice {
  commit: string;
  rule: BaseRule;
  /** Why each earlier rule did not apply (stated in every result). */
  notes: string[];
  tipSource?: "ingest" | "runner";
}

export interface BaseInput {
  tree: string;
  branch: string;
  /** From the series' `base-commit:` trailer. */
  baseCommit: string | null;
  /** The branch tip the orchestrator recorded when it planned the flow. */
  treeTip: string | null;
  /** A series not sent yet: skip the recorded tip (the author's own commits are often on it already). */
  unsent?: boolean;
  preimages: readonly Preimage[];
  /** How many first-parent commits the preimage guess walks back. */
  guessDepth?: number;
}

async function resolveCommit(git: Git, repo: string, rev: string): Promise<string | null> {
  const r = await git(["rev-parse", "--verify", "--quiet", "--end-of-options", `${rev}^{commit}`], { repo, okCodes: "any" });
  return r.code === 0 ? r.stdout.trim() : null;
}

/**
 * Is `commit` in upstream history: reachable from the tree's branch, or else
 * from any branch or tag the mirror fetched from upstream? The mirror also
 * holds every earlier flow's applied series (refs/patchbench/flows/*) and
 * their objects; those are not upstream, so a `base-commit:` naming one must
 * not make a series run on (and run the scripts of) someone else's patches.
 */
export async function isUpstreamCommit(git: Git, repo: string, commit: string, branch: string): Promise<boolean> {
  const onBranch = await git(["merge-base", "--is-ancestor", "--end-of-options", commit, `refs/heads/${branch}`], { repo, okCodes: "any" });
  if (onBranch.code === 0) return true;
  // Anything left after subtracting all upstream branches and tags is not upstream.
  const outside = await git(["rev-list", "-n1", commit, "--not", "--branches", "--tags"], { repo, okCodes: "any", timeoutMs: 600_000 });
  return outside.code === 0 && outside.stdout.trim() === "";
}

/** Blob ids of paths at a commit (null = absent). */
async function blobsAt(git: Git, repo: string, commit: string, paths: readonly string[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>(paths.map((p) => [p, null]));
  if (paths.length === 0) return out;
  const r = await git(["ls-tree", "-r", "-z", "--full-tree", commit, "--", ...paths], { repo, maxOutput: 64 * 1024 * 1024 });
  for (const rec of r.stdout.split("\0")) {
    const m = /^\d+ blob ([0-9a-f]+)\t(.+)$/s.exec(rec);
    if (m?.[1] && m[2] && out.has(m[2])) out.set(m[2], m[1]);
  }
  return out;
}

function mismatches(state: Map<string, string | null>, pre: readonly Preimage[]): Preimage[] {
  return pre.filter((p) => {
    const have = state.get(p.path) ?? null;
    if (p.blob === null) return have !== null;
    return have === null || !have.startsWith(p.blob);
  });
}

/**
 * Walk the branch back along first parents, only through commits touching
 * the series' paths, and return the newest commit where every path holds
 * the expected preimage blob (b4's --guess-base idea). One `git log` call.
 */
export async function guessBaseFromPreimages(
  git: Git,
  repo: string,
  tip: string,
  pre: readonly Preimage[],
  depth: number,
): Promise<{ commit: string; checked: number } | null> {
  const paths = pre.map((p) => p.path);
  const state = await blobsAt(git, repo, tip, paths);
  if (mismatches(state, pre).length === 0) return { commit: tip, checked: 0 };
  const log = await git(
    ["log", "--first-parent", "-m", "--raw", "--no-abbrev", "--no-renames", "-z", "--format=%x01%H %P", `-n${depth}`, tip, "--", ...paths],
    { repo, maxOutput: 256 * 1024 * 1024, timeoutMs: 600_000 },
  );
  let checked = 0;
  for (const entry of log.stdout.split("\x01").slice(1)) {
    const cut = entry.search(/[\n\0]/);
    const head = cut < 0 ? entry : entry.slice(0, cut);
    const [, parent] = head.trim().split(" ");
    // -z raw records: ":old-mode new-mode old new status\0path\0"
    const fields = (cut < 0 ? "" : entry.slice(cut + 1)).replace(/^[\n\0]+/, "").split("\0");
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const m = /^:\d+ \d+ ([0-9a-f]+) ([0-9a-f]+) [A-Z]\d*$/.exec(fields[i]!.trim());
      const path = fields[i + 1];
      if (m?.[1] && path && state.has(path)) state.set(path, /^0+$/.test(m[1]) ? null : m[1]);
    }
    checked++;
    if (!parent) return null;
    if (mismatches(state, pre).length === 0) return { commit: parent, checked };
  }
  return null;
}

/**
 * Choose the commit a series is applied to, and say why:
 *  1. the `base-commit:` trailer, when present and in upstream history
 *     (isUpstreamCommit: never an earlier flow's applied series);
 *  2. the branch tip recorded when the flow was planned (ingest time; also
 *     checked to be upstream; not for a series not sent yet), or —
 *     when the orchestrator had no mirror — the tip the runner sees now,
 *     provided the series' preimage blobs are there;
 *  3. a guess from the preimage blob ids (newest commit that has them all);
 *  4. otherwise the runner's tip, with the reason the guess failed.
 */
export async function selectBase(git: Git, repo: string, input: BaseInput): Promise<BaseChoice> {
  const notes: string[] = [];
  if (input.baseCommit) {
    if (/^[0-9a-f]{7,64}$/i.test(input.baseCommit)) {
      const c = await resolveCommit(git, repo, input.baseCommit);
      if (!c) notes.push(`base-commit ${input.baseCommit.slice(0, 12)} is not in ${input.tree}`);
      else if (await isUpstreamCommit(git, repo, c, input.branch)) return { commit: c, rule: "base-commit trailer", notes };
      else notes.push(`base-commit ${input.baseCommit.slice(0, 12)} is not in the upstream history of ${input.branch} (nor of any upstream branch or tag of ${input.tree})`);
    } else notes.push("base-commit trailer is not a commit id");
  } else notes.push("no base-commit trailer");

  if (input.unsent) {
    notes.push("a series not sent yet: based where its preimage blobs are, not on the tip recorded at ingest");
  } else if (input.treeTip) {
    const c = /^[0-9a-f]{7,64}$/i.test(input.treeTip) ? await resolveCommit(git, repo, input.treeTip) : null;
    if (c && (await isUpstreamCommit(git, repo, c, input.branch))) return { commit: c, rule: "tree tip", notes, tipSource: "ingest" };
    notes.push(
      c
        ? `the tip recorded at ingest (${input.treeTip.slice(0, 12)}) is not in the upstream history of ${input.branch}`
        : `the tip recorded at ingest (${input.treeTip.slice(0, 12)}) is not in this runner's mirror`,
    );
  } else notes.push("no tree tip was recorded at ingest");

  const tip = await resolveCommit(git, repo, `refs/heads/${input.branch}`);
  if (!tip) throw infraError(`branch ${input.branch} not found in ${input.tree}`, `fix trees.${input.tree}.branch`);
  const pre = input.preimages;
  if (pre.length === 0) {
    return { commit: tip, rule: "tree tip", notes: [...notes, "runner read the tip (no preimage blob ids to check)"], tipSource: "runner" };
  }
  const tipMismatch = mismatches(await blobsAt(git, repo, tip, pre.map((p) => p.path)), pre);
  if (tipMismatch.length === 0) {
    return { commit: tip, rule: "tree tip", notes: [...notes, "runner read the tip; the series' preimage blobs are there"], tipSource: "runner" };
  }
  const first = tipMismatch[0]!;
  notes.push(
    `the tip ${tip.slice(0, 12)} lacks the preimage of ${first.path} (${first.blob ?? "new file"})${tipMismatch.length > 1 ? ` and ${tipMismatch.length - 1} more` : ""}`,
  );
  const depth = input.guessDepth ?? 5000;
  const guess = await guessBaseFromPreimages(git, repo, tip, pre, depth);
  if (guess) {
    return { commit: guess.commit, rule: "preimage blobs", notes: [...notes, `newest commit holding every preimage blob (${guess.checked} commits walked)`] };
  }
  notes.push(`no commit in the last ${depth} first-parent commits holds every preimage blob; using the tip`);
  return { commit: tip, rule: "tree tip", notes, tipSource: "runner" };
}
