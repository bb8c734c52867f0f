import type { ApplyData } from "../../domain/results.ts";
import type { Git } from "../../lib/git.ts";
import { parseAmFailure } from "./parse-am-failure.ts";
import { writeMboxrd } from "../../ingest/mail/write-mboxrd.ts";

export interface RawPatch {
  index: number;
  subject: string;
  raw: Buffer;
}

export interface AmOutcome {
  applied: number;
  alreadyApplied: { patch: number; subject: string }[];
  failure: NonNullable<ApplyData["failure"]> | null;
  head: string | null;
}

/**
 * `git am -3 --patch-format=mboxrd` from the raw bytes, one patch at a time
 * so a failure names its patch. A patch whose reverse applies cleanly is
 * already in the tree: it is skipped (`git am --skip`) and reported. On a
 * real failure `git apply --check -v` names files and hunks even when -3
 * only says the repository lacks the preimage blobs (a tree imported from a
 * tarball), then `git am --abort` leaves the worktree clean.
 */
export async function amSeries(git: Git, wt: string, patches: readonly RawPatch[], signal?: AbortSignal): Promise<AmOutcome> {
  const sig = signal ? { signal } : {};
  const out: AmOutcome = { applied: 0, alreadyApplied: [], failure: null, head: null };
  for (const p of patches) {
    // The committer (fixed in GIT_ENV) and its date taken from the mail: the same series on the
    // same base is the same commit on every runner and every flow, so a kept kernel can be found.
    const am = await git(["-c", "gc.auto=0", "am", "-3", "--committer-date-is-author-date", "--patch-format=mboxrd"], {
      repo: wt,
      input: writeMboxrd([p.raw]),
      okCodes: "any",
      timeoutMs: 600_000,
      ...sig,
    });
    // With the preimage blobs at hand, -3 itself notices a patch that is already in.
    if (am.code === 0 && /^No changes -- Patch already applied\.$/m.test(am.stdout)) {
      out.alreadyApplied.push({ patch: p.index, subject: p.subject });
      continue;
    }
    if (am.code === 0) {
      out.applied++;
      continue;
    }
    const reverse = await git(["apply", "--check", "-R", "-"], { repo: wt, input: p.raw, okCodes: "any", timeoutMs: 120_000, ...sig });
    if (reverse.code === 0) {
      await git(["am", "--skip"], { repo: wt, okCodes: "any", timeoutMs: 120_000 });
      // --skip moves on to nothing (we feed one patch at a time); make sure no am session is left.
      await git(["am", "--abort"], { repo: wt, okCodes: "any" });
      out.alreadyApplied.push({ patch: p.index, subject: p.subject });
      continue;
    }
    const check = await git(["apply", "--check", "-v", "-"], { repo: wt, input: p.raw, okCodes: "any", timeoutMs: 120_000, ...sig });
    const amParsed = parseAmFailure(`${am.stdout}\n${am.stderr}`);
    const checkParsed = parseAmFailure(check.stderr);
    out.failure = {
      patch: p.index,
      subject: p.subject,
      files: [...new Set([...checkParsed.files, ...amParsed.files])],
      hunks: [...new Set([...checkParsed.hunks, ...amParsed.hunks])],
      gitMessage: [amParsed.message, checkParsed.message].filter(Boolean).join("\n").slice(0, 4000),
    };
    await git(["am", "--abort"], { repo: wt, okCodes: "any" });
    await git(["reset", "--hard", "--quiet"], { repo: wt, okCodes: "any" });
    await git(["clean", "-fdxq"], { repo: wt, okCodes: "any" });
    return out;
  }
  out.head = (await git(["rev-parse", "HEAD"], { repo: wt })).stdout.trim();
  return out;
}
