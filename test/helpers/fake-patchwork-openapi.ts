import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { parse } from "yaml";
import { PROJECT_ROOT } from "./fixtures.ts";

/**
 * Patchwork's own REST description (API 1.3, the version kernel.org runs),
 * kept verbatim in test/data/patchwork/ (source in its README). Loaded once
 * per process; validators compiled lazily per operation.
 */
// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: Ajv) => void;

type Json = Record<string, unknown>;

interface Doc {
  paths: Record<string, Record<string, Json>>;
  components: Json;
}

export const PATCHWORK_SCHEMA = join(PROJECT_ROOT, "test", "data", "patchwork", "patchwork-1.3.yaml");

let loaded: { doc: Doc; ajv: Ajv } | undefined;
const cache = new Map<string, ValidateFunction>();

function load(): { doc: Doc; ajv: Ajv } {
  if (loaded) return loaded;
  const doc = parse(readFileSync(PATCHWORK_SCHEMA, "utf8")) as Doc;
  const ajv = new Ajv({ strict: false, validateSchema: false, allErrors: true, logger: false });
  addFormats(ajv);
  // Patchwork's own format name: Django's naive ISO 8601 (no zone; the server runs in UTC).
  ajv.addFormat("iso8601", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?$/);
  ajv.addSchema({ $id: "doc", components: doc.components });
  loaded = { doc, ajv };
  return loaded;
}

function resolve(node: unknown): Json {
  let n = node as Json;
  while (n && typeof n.$ref === "string") {
    let cur: unknown = load().doc;
    for (const p of n.$ref.replace(/^#\//, "").split("/")) cur = (cur as Json)[p];
    n = cur as Json;
  }
  return n;
}

export interface PatchworkOperation {
  operationId: string;
  template: string;
  params: Record<string, string>;
  /** Path-level and operation-level parameters, $refs resolved. */
  parameters: Json[];
  op: Json;
}

/**
 * The operation a request hits. The description writes paths without the
 * trailing slash Django's router puts on every API URL; the caller strips it.
 */
export function findPatchworkOperation(method: string, path: string): PatchworkOperation | null {
  for (const [template, item] of Object.entries(load().doc.paths)) {
    const op = item[method.toLowerCase()];
    if (!op) continue;
    const names: string[] = [];
    const re = new RegExp(`^${template.replace(/\{([^}]+)\}/g, (_x, n: string) => {
      names.push(n);
      return "([^/]+)";
    })}$`);
    const m = re.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    names.forEach((n, i) => {
      params[n] = decodeURIComponent(m[i + 1]!);
    });
    const parameters = [...((item.parameters as unknown as unknown[] | undefined) ?? []), ...((op.parameters as unknown[] | undefined) ?? [])].map(resolve);
    return { operationId: String(op.operationId), template, params, parameters, op };
  }
  return null;
}

function compile(key: string, schema: unknown): ValidateFunction {
  let v = cache.get(key);
  if (!v) {
    v = load().ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components', '"doc#/components')) as Json);
    cache.set(key, v);
  }
  return v;
}

function errorsOf(v: ValidateFunction, value: unknown): string[] {
  return v(value) ? [] : (v.errors ?? []).slice(0, 10).map((e) => `${e.instancePath || "/"} ${e.message ?? "invalid"}`);
}

/** Query and path parameters: unknown names and values of the wrong type or enum. */
export function validatePatchworkParams(o: PatchworkOperation, query: URLSearchParams): string[] {
  const out: string[] = [];
  const known = new Map(o.parameters.map((p) => [`${String(p.in)}:${String(p.name)}`, p]));
  const check = (where: string, name: string, raw: string) => {
    const p = known.get(`${where}:${name}`);
    if (!p) return out.push(`${where} parameter "${name}" is not in ${o.operationId}`);
    const schema = p.schema as Json;
    const value = schema.type === "integer" && /^-?\d+$/.test(raw) ? Number(raw) : raw;
    for (const e of errorsOf(compile(`param:${o.operationId}:${where}:${name}`, schema), value)) out.push(`${where} ${name}: ${e}`);
    return 0;
  };
  for (const [k, v] of Object.entries(o.params)) check("path", k, v);
  for (const [k, v] of query) check("query", k, v);
  return out;
}

/** A JSON request body against the operation's requestBody (application/json). */
export function validatePatchworkBody(o: PatchworkOperation, body: unknown): string[] {
  const rb = resolve(o.op.requestBody);
  const schema = ((rb.content as Json | undefined)?.["application/json"] as Json | undefined)?.schema;
  if (!schema) return [`${o.operationId} takes no JSON body`];
  return errorsOf(compile(`body:${o.operationId}`, schema), body).map((e) => `request body ${e}`);
}

/** An answer against the response the description declares for that status. */
export function validatePatchworkResponse(o: PatchworkOperation, status: number, body: unknown): string[] {
  const r = (o.op.responses as Json)[String(status)];
  if (!r) return [`${o.operationId} declares no ${status} response`];
  const schema = ((resolve(r).content as Json | undefined)?.["application/json"] as Json | undefined)?.schema;
  if (!schema) return [];
  return errorsOf(compile(`resp:${o.operationId}:${status}`, schema), body).map((e) => `response ${status} ${e}`);
}
