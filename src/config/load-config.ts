import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { configError } from "../lib/errors.ts";
import { parse } from "yaml";
import { type Config, globalSchema } from "./schema.ts";
import { formatIssue, type ConfigFileText, type ValidatedConfig, validateConfig } from "./validate-config.ts";
import { projectFile } from "../lib/project-root.ts";

/** The config/ folder shipped with patchbench: the embedded defaults. */
export const EMBEDDED_CONFIG_DIR = projectFile("config");

export interface LoadOptions {
  /** Folder holding patchbench.yaml and trees/ (flag --config, env PATCHBENCH_CONFIG). */
  configDir?: string | undefined;
  /** Overrides from flags (win over env). */
  flags?: Partial<{ dataDir: string; redisUrl: string; logLevel: string }>;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function resolveConfigDir(opts: LoadOptions): string {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const dir = opts.configDir ?? env.PATCHBENCH_CONFIG;
  if (dir) return resolve(cwd, dir);
  return EMBEDDED_CONFIG_DIR;
}

function treeNamesFromText(text: string | undefined): string[] | undefined {
  if (!text) return undefined;
  try {
    const raw = parse(text) as { trees?: unknown } | null;
    const t = raw?.trees;
    return Array.isArray(t) && t.every((x) => typeof x === "string" && /^[A-Za-z0-9._-]+$/.test(x)) ? (t as string[]) : undefined;
  } catch {
    return undefined;
  }
}

/** Read the files (I/O) and validate (pure). Returns issues rather than throwing. */
export function readConfig(opts: LoadOptions = {}): ValidatedConfig & { configDir: string } {
  const env = opts.env ?? process.env;
  const configDir = resolveConfigDir(opts);
  if (!existsSync(configDir)) {
    return {
      configDir,
      global: null,
      trees: [],
      errors: [{ file: configDir, path: "", message: "config folder does not exist" }],
      warnings: [],
    };
  }
  const globalPath = join(configDir, "patchbench.yaml");
  const global: ConfigFileText | null = existsSync(globalPath)
    ? { file: globalPath, text: readFileSync(globalPath, "utf8") }
    : null;
  // Tree names come from the global file (or the default list).
  const pre = validateConfig({ global, trees: [] });
  // When the global file itself is invalid, still check the tree files it
  // names (or the default one), so every error is reported in one pass.
  const names = pre.global?.trees ?? treeNamesFromText(global?.text) ?? globalSchema.parse({}).trees;
  const trees: ConfigFileText[] = [];
  for (const name of names) {
    const p = join(configDir, "trees", `${name}.yaml`);
    if (existsSync(p)) trees.push({ file: p, text: readFileSync(p, "utf8") });
  }
  const envOverrides: Partial<{ dataDir: string; redisUrl: string; storeUrl: string; logLevel: string }> = {};
  if (env.PATCHBENCH_DATA_DIR) envOverrides.dataDir = env.PATCHBENCH_DATA_DIR;
  if (env.REDIS_URL) envOverrides.redisUrl = env.REDIS_URL;
  if (env.PATCHBENCH_STORE_URL) envOverrides.storeUrl = env.PATCHBENCH_STORE_URL;
  if (env.PATCHBENCH_LOG_LEVEL) envOverrides.logLevel = env.PATCHBENCH_LOG_LEVEL;
  const result = validateConfig({ global, trees, overrides: { ...envOverrides, ...(opts.flags ?? {}) } });
  return { ...result, configDir };
}

/** Load and resolve, or throw a config error listing every problem. */
export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const r = readConfig(opts);
  if (r.errors.length > 0 || !r.global) {
    // One line (the CLI's rule for errors); `config check` lists them one per line.
    const lines = r.errors.map(formatIssue);
    throw configError(
      `invalid configuration: ${lines.join("; ")}`,
      `${lines.length > 1 ? `${lines.length} errors; ` : ""}\`patchbench config check\` lists them`,
    );
  }
  const g = r.global;
  const dataDir = resolve(cwd, g.dataDir);
  const rel = (p: string | null, dflt: string) => (p ? (isAbsolute(p) ? p : resolve(dataDir, p)) : join(dataDir, dflt));
  // Tree paths in files are relative to the config folder.
  const trees = r.trees.map((t) => ({ ...t, path: t.path === null ? null : resolve(r.configDir, t.path) }));
  return {
    configDir: r.configDir,
    global: g,
    trees,
    secrets: { smtpPassword: env.PATCHBENCH_SMTP_PASSWORD ?? null },
    paths: {
      dataDir,
      storePath: rel(g.store.path, "patchbench.sqlite"),
      store: g.store.url ?? rel(g.store.path, "patchbench.sqlite"),
      workDir: rel(g.runner.workDir, "work"),
      outboxDir: rel(g.mail.outboxDir, "outbox"),
    },
  };
}
