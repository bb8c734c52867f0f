import { z } from "zod";

/**
 * A bisection of a confirmed change between two measured tips, driven by kernel A/B verdicts:
 * each step measures the last good commit (`good`) against a commit of the range, on one cell.
 * Pure state machine: `nextStep` says what to measure, `recordStep` takes its verdict. The state
 * is plain JSON, kept in the store after every step, so a restart resumes where it was.
 */
export const bisectStateSchema = z.object({
  tree: z.string(),
  cell: z.string(),
  /** Which way the confirmed change went: a step "moved" when its verdict says the same. */
  direction: z.enum(["regression", "improvement"]),
  /** The last tip before the change (known good). */
  good: z.string(),
  /** The range after `good`, oldest first; the last is the first tip after the change (known bad). */
  commits: z.array(z.string()).min(1),
  /** Every commit before index `lo` is good; commits[hi] is bad. */
  lo: z.number().int().nonnegative(),
  hi: z.number().int().nonnegative(),
  steps: z.array(
    z.object({
      commit: z.string(),
      verdict: z.string(),
      /** B/A of the step with its 95% CI, when measured. */
      ratio: z.number().nullable(),
      ci: z.tuple([z.number(), z.number()]).nullable(),
      outcome: z.enum(["bad", "good", "again", "skipped"]),
      runnerSec: z.number().nonnegative(),
    }),
  ),
});
export type BisectState = z.infer<typeof bisectStateSchema>;

export type BisectNext =
  | { kind: "measure"; commit: string; index: number; more: boolean }
  | { kind: "found"; commit: string; index: number }
  | { kind: "stuck"; why: string; candidates: string[] };

export function startBisect(i: { tree: string; cell: string; direction: BisectState["direction"]; good: string; commits: readonly string[] }): BisectState {
  if (i.commits.length === 0) throw new Error("a bisection needs at least the bad commit");
  return { tree: i.tree, cell: i.cell, direction: i.direction, good: i.good, commits: [...i.commits], lo: 0, hi: i.commits.length - 1, steps: [] };
}

const skippedOf = (s: BisectState) => new Set(s.steps.filter((x) => x.outcome === "skipped").map((x) => x.commit));
const triesOf = (s: BisectState, commit: string) => s.steps.filter((x) => x.commit === commit && x.outcome === "again").length;

/**
 * Pure: the next commit to measure (the middle of the open range, stepping around commits that
 * were skipped), or the first bad commit once the range is closed, or why it cannot be told
 * (every commit left was skipped: the candidates are named, as `git bisect` does).
 */
export function nextStep(s: BisectState): BisectNext {
  if (s.lo >= s.hi) return { kind: "found", commit: s.commits[s.hi]!, index: s.hi };
  const skipped = skippedOf(s);
  const open = Array.from({ length: s.hi - s.lo }, (_, k) => s.lo + k).filter((i) => !skipped.has(s.commits[i]!));
  if (open.length === 0) {
    return { kind: "stuck", why: "every commit left in the range was skipped (did not build, boot or measure)", candidates: s.commits.slice(s.lo, s.hi + 1) };
  }
  const mid = Math.floor((s.lo + s.hi) / 2);
  const index = open.reduce((best, i) => (Math.abs(i - mid) < Math.abs(best - mid) ? i : best), open[0]!);
  const commit = s.commits[index]!;
  return { kind: "measure", commit, index, more: triesOf(s, commit) > 0 };
}

/**
 * Pure: a step's verdict applied. The change's own verdict → the first bad commit is at or
 * before it; "no change" → after it; "inconclusive" → measured again with more rounds, once;
 * "noisy" (or inconclusive twice, or no numbers) → skipped and said so.
 */
export function recordStep(
  s: BisectState,
  step: { commit: string; verdict: string | null; ratio: number | null; ci: [number, number] | null; runnerSec: number },
): BisectState {
  const index = s.commits.indexOf(step.commit);
  if (index < s.lo || index >= s.hi) throw new Error(`${step.commit.slice(0, 12)} is not in the open range of the bisection`);
  const tries = triesOf(s, step.commit);
  const outcome: BisectState["steps"][number]["outcome"] =
    step.verdict === s.direction ? "bad" : step.verdict === "no change" ? "good" : step.verdict === "inconclusive" && tries === 0 ? "again" : "skipped";
  const steps = [...s.steps, { commit: step.commit, verdict: step.verdict ?? "no numbers", ratio: step.ratio, ci: step.ci, outcome, runnerSec: step.runnerSec }];
  if (outcome === "bad") return { ...s, hi: index, steps };
  if (outcome === "good") return { ...s, lo: index + 1, steps };
  return { ...s, steps };
}

/** Runner seconds the bisection took so far (every step, repeats and skipped ones included). */
export function bisectRunnerSec(s: BisectState): number {
  return s.steps.reduce((n, x) => n + x.runnerSec, 0);
}
