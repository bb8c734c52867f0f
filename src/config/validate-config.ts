import { parseDocument } from "yaml";
import type { z } from "zod";
import { type GlobalConfig, globalSchema, type TreeConfig, treeSchema } from "./schema.ts";

export interface ConfigIssue {
  file: string;
  /** Dotted path inside the file, e.g. bench.sizes.2 ("" for the whole file). */
  path: string;
  message: string;
}

export interface ConfigFileText {
  file: string;
  text: string;
}

export interface ValidatedConfig {
  global: GlobalConfig | null;
  trees: TreeConfig[];
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

function issuesOf(file: string, err: z.ZodError): ConfigIssue[] {
  return err.issues.map((i) => ({ file, path: i.path.map(String).join("."), message: i.message }));
}

function parseYaml(f: ConfigFileText, errors: ConfigIssue[]): unknown {
  const doc = parseDocument(f.text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) errors.push({ file: f.file, path: "", message: `YAML: ${e.message.split("\n")[0]}` });
    return undefined;
  }
  return doc.toJS() ?? {};
}

/** Estimated runner seconds for a tree's default bench plan (used for warnings). */
export function estimateBenchSeconds(tree: TreeConfig): number {
  const b = tree.bench;
  const cells = b.tests.length * b.sizes.length * b.topologies.length;
  const runs = b.runsPerRound + (b.warmup ? 1 : 0);
  return cells * 2 * b.rounds * runs * b.durationSec;
}

/**
 * Pure validation of the global file plus tree files, with overrides (env and
 * flags, already mapped to config paths) applied on top of the file values.
 */
export function validateConfig(input: {
  global: ConfigFileText | null;
  trees: ConfigFileText[];
  overrides?: Partial<{ dataDir: string; redisUrl: string; logLevel: string }>;
}): ValidatedConfig {
  const errors: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const rawGlobal = input.global ? parseYaml(input.global, errors) : {};
  const globalFile = input.global?.file ?? "(defaults)";
  let global: GlobalConfig | null = null;
  if (rawGlobal !== undefined) {
    const g = globalSchema.safeParse(rawGlobal);
    if (g.success) {
      global = g.data;
      const o = input.overrides ?? {};
      if (o.dataDir) global.dataDir = o.dataDir;
      if (o.redisUrl) global.redis.url = o.redisUrl;
      if (o.logLevel) {
        const lv = globalSchema.shape.logLevel.safeParse(o.logLevel);
        if (lv.success) global.logLevel = lv.data;
        else errors.push({ file: "(env/flags)", path: "logLevel", message: `unknown log level "${o.logLevel}"` });
      }
      if (global.redis.url && !/^rediss?:\/\//.test(global.redis.url)) {
        errors.push({ file: globalFile, path: "redis.url", message: "expected a redis:// or rediss:// URL" });
      }
    } else errors.push(...issuesOf(globalFile, g.error));
  }

  const trees: TreeConfig[] = [];
  for (const f of input.trees) {
    const raw = parseYaml(f, errors);
    if (raw === undefined) continue;
    const t = treeSchema.safeParse(raw);
    if (!t.success) {
      errors.push(...issuesOf(f.file, t.error));
      continue;
    }
    const tree = t.data;
    if (tree.bench.maxRounds < tree.bench.rounds) {
      errors.push({ file: f.file, path: "bench.maxRounds", message: "must be >= bench.rounds" });
    }
    const pin = tree.bench.pinning;
    if (pin && pin.local === pin.remote) {
      warnings.push({ file: f.file, path: "bench.pinning", message: "local and remote pinned to one CPU" });
    }
    const est = estimateBenchSeconds(tree);
    if (est > tree.bench.budgetSec) {
      warnings.push({
        file: f.file,
        path: "bench",
        message: `default matrix needs ~${est} s, over budgetSec ${tree.bench.budgetSec}; requests will be refused`,
      });
    }
    if (trees.some((x) => x.name === tree.name)) {
      errors.push({ file: f.file, path: "name", message: `duplicate tree name "${tree.name}"` });
      continue;
    }
    trees.push(tree);
  }
  if (global) {
    for (const name of global.trees) {
      if (!trees.some((t) => t.name === name) && !errors.some((e) => e.file.endsWith(`${name}.yaml`))) {
        errors.push({ file: globalFile, path: "trees", message: `tree "${name}" has no file trees/${name}.yaml` });
      }
    }
    if (!global.trees.includes(global.defaultTree)) {
      errors.push({ file: globalFile, path: "defaultTree", message: `"${global.defaultTree}" is not listed in trees` });
    }
  }
  return { global, trees, errors, warnings };
}

export function formatIssue(i: ConfigIssue): string {
  return `${i.file}${i.path ? `: ${i.path}` : ""}: ${i.message}`;
}
