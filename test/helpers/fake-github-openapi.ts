import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

/**
 * GitHub's own descriptions, loaded once per process: the REST API
 * (@octokit/openapi, generated/api.github.com.json only — the package
 * unpacks to 404 MB) and the webhooks (@octokit/openapi-webhooks).
 * Validators are compiled lazily per operation / event.
 */
const require = createRequire(import.meta.url);
// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: Ajv) => void;

type Json = Record<string, unknown>;

interface Doc {
  paths: Record<string, Record<string, Json>>;
  components: Json;
  webhooks?: Record<string, Record<string, Json>>;
}

/**
 * OpenAPI 3.0's `nullable` without a `type` (e.g. beside allOf) is not JSON
 * Schema and Ajv refuses it: rewrite it as anyOf [schema, null].
 */
function fixNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(fixNullable);
  if (!node || typeof node !== "object") return node;
  const o: Json = {};
  for (const [k, v] of Object.entries(node as Json)) o[k] = fixNullable(v);
  // Ajv adds null to `type` for nullable, but not to an `enum`.
  if (o.nullable === true && Array.isArray(o.enum) && !o.enum.includes(null)) o.enum = [...o.enum, null];
  if (o.nullable === true && o.type === undefined) {
    const { nullable: _, ...rest } = o;
    return { anyOf: [rest, { type: "null" }] };
  }
  return o;
}

function load(path: string): { doc: Doc; ajv: Ajv } {
  const doc = fixNullable(JSON.parse(readFileSync(require.resolve(path), "utf8"))) as Doc;
  const ajv = new Ajv({ strict: false, validateSchema: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: "doc", components: doc.components });
  return { doc, ajv };
}

let rest: { doc: Doc; ajv: Ajv } | undefined;
let hooks: { doc: Doc; ajv: Ajv } | undefined;
const cache = new Map<string, ValidateFunction>();

function compile(which: { ajv: Ajv }, key: string, schema: unknown): ValidateFunction {
  let v = cache.get(key);
  if (!v) {
    v = which.ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('"#/components', '"doc#/components')) as Json);
    cache.set(key, v);
  }
  return v;
}

export function restDoc(): Doc {
  rest ??= load("@octokit/openapi/generated/api.github.com.json");
  return rest.doc;
}

/** Follow a local $ref ("#/components/...") inside the REST description. */
export function resolveRef<T = Json>(node: unknown): T {
  let n = node as Json;
  while (n && typeof n.$ref === "string") {
    const parts = (n.$ref as string).replace(/^#\//, "").split("/");
    let cur: unknown = restDoc();
    for (const p of parts) cur = (cur as Json)[p.replace(/~1/g, "/").replace(/~0/g, "~")];
    n = cur as Json;
  }
  return n as T;
}

export interface Operation {
  method: string;
  template: string;
  regex: RegExp;
  names: string[];
  op: Json;
}

let operations: Operation[] | undefined;

/** Every operation of the description, matchable by method and concrete path. */
export function findOperation(method: string, path: string): { operation: Operation; params: Record<string, string> } | null {
  operations ??= Object.entries(restDoc().paths).flatMap(([template, methods]) =>
    Object.entries(methods)
      .filter(([m]) => ["get", "post", "patch", "put", "delete"].includes(m))
      .map(([m, op]) => {
        const names: string[] = [];
        const src = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{([^}]+)\\?\}/g, (_x, n: string) => {
          names.push(n);
          return "([^/]+)";
        });
        return { method: m.toUpperCase(), template, regex: new RegExp(`^${src}$`), names, op };
      }),
  );
  // Literal templates win over parameterised ones (…/comments/{id} vs …/{number}/comments).
  const hits = operations
    .filter((o) => o.method === method && o.regex.test(path))
    .sort((a, b) => a.names.length - b.names.length);
  const o = hits[0];
  if (!o) return null;
  const m = o.regex.exec(path)!;
  const params: Record<string, string> = {};
  o.names.forEach((n, i) => {
    params[n] = decodeURIComponent(m[i + 1]!);
  });
  return { operation: o, params };
}

/** Validate a value against a schema of the REST description; errors as text, [] when valid. */
export function validateRest(key: string, schema: unknown, value: unknown): string[] {
  restDoc();
  const v = compile(rest!, `rest:${key}`, schema);
  return v(value) ? [] : (v.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? "invalid"}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`);
}

/** Validate a webhook payload against @octokit/openapi-webhooks (key: "pull-request-opened" …). */
export function validateWebhook(key: string, payload: unknown): string[] {
  hooks ??= load("@octokit/openapi-webhooks/generated/api.github.com.json");
  const hook = hooks.doc.webhooks?.[key];
  if (!hook) return [`no webhook "${key}" in the description`];
  const body = (hook.post as Json).requestBody as Json;
  const schema = ((body.content as Json)["application/json"] as Json).schema;
  const v = compile(hooks, `hook:${key}`, schema);
  return v(payload) ? [] : (v.errors ?? []).slice(0, 10).map((e) => `${e.instancePath || "/"} ${e.message ?? "invalid"}`);
}
