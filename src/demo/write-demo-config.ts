import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EMBEDDED_CONFIG_DIR } from "../config/load-config.ts";

export interface DemoBench {
  sizes: number[];
  topologies: string[];
  rounds: number;
  maxRounds: number;
  runsPerRound: number;
  durationSec: number;
}

/**
 * A config folder made from the shipped defaults, pointing the bpf-next tree
 * at a local repository, watching a maildir, with a given bench matrix.
 * Edits the YAML text so the operator-facing comments stay in place.
 */
export function writeDemoConfig(opts: {
  dir: string;
  treePath: string;
  maildir: string;
  bench: DemoBench;
  pollSec?: number;
  /** The bpf-next tree's stages; default apply, selftests, bench (the scratch tree is not a kernel). */
  stages?: readonly string[];
}): string {
  const configDir = join(opts.dir, "config");
  cpSync(EMBEDDED_CONFIG_DIR, configDir, { recursive: true });
  for (const d of ["new", "cur", "tmp"]) mkdirSync(join(opts.maildir, d), { recursive: true });
  const globalFile = join(configDir, "patchbench.yaml");
  writeFileSync(
    globalFile,
    readFileSync(globalFile, "utf8").replace(
      /^sources: \[\]$/m,
      `sources:\n  - { kind: maildir, path: ${JSON.stringify(opts.maildir)}, intervalSec: ${opts.pollSec ?? 2} }`,
    ),
  );
  const b = opts.bench;
  const treeFile = join(configDir, "trees", "bpf-next.yaml");
  writeFileSync(
    treeFile,
    readFileSync(treeFile, "utf8")
      .replace(/^path: null$/m, `path: ${JSON.stringify(opts.treePath)}`)
      // The scratch tree is not a kernel: nothing to build, so the sides are the sysctl variants.
      .replace(/^stages: .*$/m, `stages: [${(opts.stages ?? ["apply", "selftests", "bench"]).join(", ")}]`)
      .replace(/^ {2}sizes: .*$/m, `  sizes: ${JSON.stringify(b.sizes)}`)
      .replace(/^ {2}topologies: .*$/m, `  topologies: ${JSON.stringify(b.topologies)}`)
      .replace(/^ {2}rounds: .*$/m, `  rounds: ${b.rounds}`)
      .replace(/^ {2}maxRounds: .*$/m, `  maxRounds: ${b.maxRounds}`)
      .replace(/^ {2}runsPerRound: .*$/m, `  runsPerRound: ${b.runsPerRound}`)
      .replace(/^ {2}durationSec: .*$/m, `  durationSec: ${b.durationSec}`),
  );
  return configDir;
}
