import type { Command } from "commander";
import { describeError } from "../lib/errors.ts";

/**
 * Commander stops at an unknown option before a command checks its values.
 * `review` and `bench` name every bad flag at once, so on that error their
 * value check runs too, with the unknown option first. Loaded only here, on
 * the error path: `--help` must stay light.
 */
export async function unknownOptionWithValueProblems(cmd: Command, unknown: string): Promise<string> {
  const top = cmd.parent?.parent === null || cmd.parent?.parent === undefined;
  try {
    if (top && cmd.name() === "review") {
      const { checkReviewFlags } = await import("./review-flags.ts");
      checkReviewFlags(cmd.opts(), [unknown]);
    } else if (top && cmd.name() === "bench") {
      const [{ planFromFlags }, { benchSchema }] = await Promise.all([import("./commands/bench-command.ts"), import("../config/schema.ts")]);
      planFromFlags(benchSchema.parse({}), cmd.opts(), [unknown]);
    }
  } catch (e) {
    return describeError(e);
  }
  return unknown;
}
