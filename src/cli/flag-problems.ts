import type { Command } from "commander";
import { describeError } from "../lib/errors.ts";

/**
 * Commander stops at an unknown option before a command checks its values.
 * `review` and `bench` name every bad flag at once, so on that error their
 * value check runs too, with the unknown option first. Loaded only here, on
 * the error path: `--help` must stay light.
 */
export async function unknownOptionWithValueProblems(cmd: Command, unknown: string, argv: readonly string[] = process.argv.slice(2)): Promise<string> {
  const top = cmd.parent?.parent === null || cmd.parent?.parent === undefined;
  // Commander names only the first unknown option; every one of them is a reason.
  const all = unknownOptions(argv, knownOptions(cmd)).map((o) => `unknown option '${o}'`);
  // Commander's own words for the first keep its "did you mean".
  const unknowns = [unknown, ...all.slice(1)];
  try {
    if (top && cmd.name() === "review") {
      const { checkReviewFlags } = await import("./review-flags.ts");
      checkReviewFlags(cmd.opts(), unknowns);
    } else if (top && cmd.name() === "bench") {
      const [{ planFromFlags }, { benchSchema }] = await Promise.all([import("./commands/bench-command.ts"), import("../config/schema.ts")]);
      planFromFlags(benchSchema.parse({}), cmd.opts(), unknowns);
    }
  } catch (e) {
    return describeError(e);
  }
  return unknowns.length > 1 ? `${unknowns.length} problems: ${unknowns.join("; ")}` : unknown;
}

/** The option names `cmd` and the commands above it accept. */
function knownOptions(cmd: Command): Set<string> {
  const known = new Set<string>(["--help", "-h"]);
  for (let c: Command | null = cmd; c; c = c.parent) {
    for (const o of c.options) for (const name of [o.long, o.short]) if (name) known.add(name);
  }
  return known;
}

/** Pure: every option in `argv` (before a lone "--") that is not in `known`, in order, once each. */
export function unknownOptions(argv: readonly string[], known: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const a of argv) {
    if (a === "--") break;
    if (!/^--?[A-Za-z]/.test(a)) continue;
    const name = a.startsWith("--") ? a.split("=")[0]! : a.slice(0, 2);
    if (!known.has(name) && !out.includes(name)) out.push(name);
  }
  return out;
}
