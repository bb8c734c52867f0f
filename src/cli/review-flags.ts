import { benchSchema } from "../config/schema.ts";
import { STAGES, type Stage } from "../domain/results.ts";
import { inputError } from "../lib/errors.ts";
import { applyBenchFlags, type BenchFlags, listReasons, namesFlag } from "./bench-overrides.ts";

export interface ReviewFlagValues extends BenchFlags {
  stages?: string;
  timeout?: string;
}

export interface CheckedReviewFlags {
  /** `--stages`, or undefined for the tree's own. */
  stages: Stage[] | undefined;
  /** How long to wait for each report (`--timeout`, default 6 h). */
  timeoutMs: number;
}

const DEFAULT_TIMEOUT_MS = 6 * 3600_000;

/**
 * Every bad `review` flag at once, as `bench` names them, before any input is
 * read or anything is queued: thrown as one input error (exit 65). Names are
 * checked against the config schema's own lists.
 */
export function checkReviewFlags(flags: ReviewFlagValues, known: readonly string[] = []): CheckedReviewFlags {
  const problems: string[] = [...known];
  const stages = flags.stages === undefined ? undefined : namesFlag("stages", "stage", flags.stages, STAGES, problems);
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (flags.timeout !== undefined) {
    if (!/^\d+$/.test(flags.timeout) || Number(flags.timeout) < 1) problems.push(`--timeout expects a whole number of seconds >= 1, got "${flags.timeout}"`);
    else timeoutMs = Number(flags.timeout) * 1000;
  }
  // The matrix flags are checked on the schema's defaults here; the tree's own bench config comes in once the series is known.
  applyBenchFlags(benchSchema.parse({}), flags, problems);
  if (problems.length > 0) throw inputError(listReasons(problems));
  return { stages, timeoutMs };
}
