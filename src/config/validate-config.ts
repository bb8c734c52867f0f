import { type Document, isMap, isScalar, LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { estimateBenchSeconds } from "../domain/bench-plan.ts";
import { type GlobalConfig, globalSchema, PRIVATE_REDIS, type TreeConfig, treeSchema } from "./schema.ts";

export interface ConfigIssue {
  file: string;
  /** Dotted path inside the file, e.g. bench.sizes.2 ("" for the whole file). */
  path: string;
  message: string;
  /** 1-based position in the file, when the problem has one. */
  line?: number;
  col?: number;
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

interface ParsedFile {
  file: string;
  doc: Document;
  lines: LineCounter;
}

/** Zod's definition of a schema node (v4 keeps it under `_zod.def`). */
type ZodDef = { type?: string; shape?: Record<string, unknown>; innerType?: unknown; in?: unknown; element?: unknown; options?: unknown[] };
const defOf = (s: unknown): ZodDef => ((s as { _zod?: { def?: ZodDef } })?._zod?.def ?? {}) as ZodDef;

/** The keys an object in `schema` at `path` accepts (for "did you mean"). */
export function knownKeysAt(schema: unknown, path: readonly PropertyKey[]): string[] {
  let nodes: unknown[] = [schema];
  const unwrap = (n: unknown): unknown[] => {
    const d = defOf(n);
    if (d.innerType) return unwrap(d.innerType);
    if (d.type === "pipe" && d.in) return unwrap(d.in);
    if (d.type === "union" && d.options) return d.options.flatMap(unwrap);
    return [n];
  };
  for (const seg of [...path, null]) {
    nodes = nodes.flatMap(unwrap);
    if (seg === null) break;
    nodes = nodes.flatMap((n) => {
      const d = defOf(n);
      if (d.type === "object" && d.shape && typeof seg === "string") return seg in d.shape ? [d.shape[seg]] : [];
      if (d.type === "array" && d.element) return [d.element];
      if (d.type === "record") return [(d as { valueType?: unknown }).valueType];
      return [];
    });
  }
  return [...new Set(nodes.flatMap((n) => Object.keys(defOf(n).type === "object" ? (defOf(n).shape ?? {}) : {})))];
}

/** Edit distance (insert, delete, substitute, swap of neighbours), for "did you mean". */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest known key, when it is close enough to be a typo. */
export function didYouMean(key: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const dist = editDistance(key.toLowerCase(), k.toLowerCase());
    if (dist < bestD) {
      best = k;
      bestD = dist;
    }
  }
  return best !== null && bestD <= Math.max(1, Math.floor(best.length / 3)) ? best : null;
}

/** Line and column of the YAML node at `path` (or of its nearest present parent). */
function positionOf(f: ParsedFile, path: readonly PropertyKey[], key?: string): { line: number; col: number } | Record<string, never> {
  for (let n = path.length; n >= 0; n--) {
    const parent = f.doc.getIn(path.slice(0, n), true) as unknown;
    // An unknown key: point at the key itself, not at its map.
    if (n === path.length && key !== undefined && isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === key);
      const r = pair && isScalar(pair.key) ? pair.key.range : undefined;
      if (r) return f.lines.linePos(r[0]);
    }
    const range = (parent as { range?: [number, number, number] } | undefined)?.range;
    if (range) return f.lines.linePos(range[0]);
  }
  return {};
}

function issuesOf(f: ParsedFile | string, schema: unknown, err: z.ZodError): ConfigIssue[] {
  const file = typeof f === "string" ? f : f.file;
  return err.issues.flatMap((i) => {
    const path = i.path.map(String).join(".");
    if (i.code === "unrecognized_keys") {
      const known = knownKeysAt(schema, i.path);
      return i.keys.map((k) => {
        const guess = didYouMean(k, known);
        const message = `unknown key "${k}"${guess ? ` (did you mean "${guess}"?)` : known.length > 0 ? ` (known: ${known.join(", ")})` : ""}`;
        return { file, path, message, ...(typeof f === "string" ? {} : positionOf(f, i.path, k)) };
      });
    }
    return [{ file, path, message: i.message, ...(typeof f === "string" ? {} : positionOf(f, i.path)) }];
  });
}

function parseYaml(f: ConfigFileText, errors: ConfigIssue[]): { value: unknown; parsed: ParsedFile } | undefined {
  const lines = new LineCounter();
  const doc = parseDocument(f.text, { prettyErrors: false, lineCounter: lines });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
      errors.push({ file: f.file, path: "", message: `YAML: ${e.message.split("\n")[0]}`, line: pos.line, col: pos.col });
    }
    return undefined;
  }
  return { value: doc.toJS() ?? {}, parsed: { file: f.file, doc, lines } };
}

/** Keys that moved, with where to: a clear error instead of "unrecognized key". */
const MOVED_KEYS: readonly { from: string[]; to: string }[] = [
  { from: ["github", "bench", "maintainers"], to: "mail.bench.maintainers" },
  { from: ["github", "bench", "trustedAuthservIds"], to: "mail.bench.trustedAuthservIds" },
];

/** Pure: errors for moved keys; the keys are dropped from `raw` so the rest still validates. */
function movedKeys(file: string, raw: unknown): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const m of MOVED_KEYS) {
    let node: unknown = raw;
    for (const k of m.from.slice(0, -1)) node = node && typeof node === "object" ? (node as Record<string, unknown>)[k] : undefined;
    const last = m.from[m.from.length - 1]!;
    if (!node || typeof node !== "object" || !(last in node)) continue;
    delete (node as Record<string, unknown>)[last];
    out.push({
      file,
      path: m.from.join("."),
      message: `moved to ${m.to} (mail authorisation now needs a trusted authserv-id; see README "/bench by mail"); move the value there`,
    });
  }
  return out;
}

/**
 * Pure validation of the global file plus tree files, with overrides (env and
 * flags, already mapped to config paths) applied on top of the file values.
 */
export function validateConfig(input: {
  global: ConfigFileText | null;
  trees: ConfigFileText[];
  overrides?: Partial<{ dataDir: string; redisUrl: string; storeUrl: string; logLevel: string }>;
}): ValidatedConfig {
  const errors: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const parsedGlobal = input.global ? parseYaml(input.global, errors) : { value: {}, parsed: null };
  const globalFile = input.global?.file ?? "(defaults)";
  let global: GlobalConfig | null = null;
  if (parsedGlobal !== undefined) {
    const rawGlobal = parsedGlobal.value;
    errors.push(...movedKeys(globalFile, rawGlobal));
    const g = globalSchema.safeParse(rawGlobal);
    if (g.success) {
      // Zod hands out its default objects by reference: a copy keeps one config's changes out of the next.
      global = structuredClone(g.data);
      const o = input.overrides ?? {};
      if (o.dataDir) global.dataDir = o.dataDir;
      if (o.redisUrl) global.redis.url = o.redisUrl;
      if (o.storeUrl) global.store.url = o.storeUrl;
      if (o.logLevel) {
        const lv = globalSchema.shape.logLevel.safeParse(o.logLevel);
        if (lv.success) global.logLevel = lv.data;
        else errors.push({ file: "(env/flags)", path: "logLevel", message: `unknown log level "${o.logLevel}"` });
      }
      if (global.runner.sandbox === "none") {
        warnings.push({
          file: globalFile,
          path: "runner.sandbox",
          message: "none: a tree's scripts and make run with the runner's privileges (root on a runner), its network and its files; development only",
        });
      }
      if (global.store.url && !/^postgres(ql)?:\/\//.test(global.store.url)) {
        errors.push({ file: "(env/flags)", path: "store.url", message: "expected a postgres:// or postgresql:// URL" });
      }
      if (global.redis.url && global.redis.url !== PRIVATE_REDIS && !/^rediss?:\/\//.test(global.redis.url)) {
        errors.push({ file: globalFile, path: "redis.url", message: `expected a redis:// or rediss:// URL, or "${PRIVATE_REDIS}"` });
      }
      const mb = global.mail.bench;
      if (mb.maintainers.length > 0 && mb.trustedAuthservIds.length === 0) {
        warnings.push({
          file: globalFile,
          path: "mail.bench.trustedAuthservIds",
          message: "empty: /bench by mail is off (a From: header proves nothing); list your receiving MTA's authserv-id (see README, \"/bench by mail\")",
        });
      }
    } else {
      errors.push(...issuesOf(parsedGlobal.parsed ?? globalFile, globalSchema, g.error));
      const gh = (rawGlobal as { github?: Record<string, unknown> } | null)?.github;
      if (gh && typeof gh === "object" && "maxCommits" in gh) {
        errors.push({ file: globalFile, path: "github.maxCommits", message: "replaced by ingest.maxPatches (one cap for mail and pull requests)" });
      }
    }
  }

  const trees: TreeConfig[] = [];
  for (const f of input.trees) {
    const parsed = parseYaml(f, errors);
    if (parsed === undefined) continue;
    const t = treeSchema.safeParse(parsed.value);
    if (!t.success) {
      errors.push(...issuesOf(parsed.parsed, treeSchema, t.error));
      continue;
    }
    const tree = structuredClone(t.data);
    if (tree.bench.maxRounds < tree.bench.rounds) {
      errors.push({ file: f.file, path: "bench.maxRounds", message: "must be >= bench.rounds" });
    }
    const pin = tree.bench.pinning;
    if (pin && pin.local === pin.remote) {
      warnings.push({ file: f.file, path: "bench.pinning", message: "local and remote pinned to one CPU" });
    }
    const est = estimateBenchSeconds(tree.bench);
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

/** `file:line:col: path: message` (the position when known, as compilers print it). */
export function formatIssue(i: ConfigIssue): string {
  const at = i.line !== undefined ? `:${i.line}${i.col !== undefined ? `:${i.col}` : ""}` : "";
  return `${i.file}${at}${i.path ? `: ${i.path}` : ""}: ${i.message}`;
}
