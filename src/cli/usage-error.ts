import type { Command } from "commander";

/** The help that lists a command's options, as typed: `patchbench help review`, `patchbench config help check`. */
export function helpCommandOf(cmd: Command): string {
  const path: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) path.unshift(c.name());
  if (path.length === 0) return "patchbench --help";
  return ["patchbench", ...path.slice(0, -1), "help", path.at(-1)!].join(" ");
}

/** Commander's "error: unknown option '--frob'" as one line of ours, naming where the options are listed. */
export function usageErrorLine(cmd: Command, message: string): string {
  const what = message.replace(/^error: /, "").replace(/\n+/g, " ").trim();
  return `patchbench: ${what} (\`${helpCommandOf(cmd)}\` lists ${cmd.parent ? "its options" : "the commands and global options"})`;
}
