import { readConfig } from "../../config/load-config.ts";
import { formatIssue } from "../../config/validate-config.ts";
import type { GlobalFlags } from "../context.ts";
import { stringify } from "yaml";

/** `patchbench config check`: every problem with file, path and expectation, or the normalized config. */
export function configCheckCommand(flags: GlobalFlags, opts: { json?: boolean }): number {
  const f: Partial<{ dataDir: string; redisUrl: string; logLevel: string }> = {};
  if (flags.dataDir) f.dataDir = flags.dataDir;
  if (flags.redisUrl) f.redisUrl = flags.redisUrl;
  if (flags.logLevel) f.logLevel = flags.logLevel;
  const r = readConfig({ configDir: flags.config, flags: f });
  for (const w of r.warnings) process.stderr.write(`warning: ${formatIssue(w)}\n`);
  if (r.errors.length > 0 || !r.global) {
    for (const e of r.errors) process.stderr.write(`error: ${formatIssue(e)}\n`);
    process.stderr.write(`${r.errors.length} error(s) in ${r.configDir}\n`);
    return 78; // EX_CONFIG, as every other command exits on a config error
  }
  const normalized = { configDir: r.configDir, global: r.global, trees: r.trees };
  process.stdout.write(opts.json ? `${JSON.stringify(normalized, null, 2)}\n` : stringify(normalized));
  process.stderr.write(`config OK (${r.configDir})\n`);
  return 0;
}
