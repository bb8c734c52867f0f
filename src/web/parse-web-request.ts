import { HAS_REGRESSION, LIST_STATES, LIST_VERDICTS } from "./render-series-list.ts";
import { isRunLogName } from "./run-logs.ts";

/** Longest request target served; beyond it 414 (query sizes stay bounded). */
export const MAX_URL = 2048;
export const PAGE_SIZE = 50;
const MAX_OFFSET = 1_000_000;
const MAX_SEARCH = 200;
/** Series and flow ids are ours (hex, dashes): nothing else is looked up, so no path can name a file. */
const ID = /^[A-Za-z0-9._-]{1,200}$/;
const TREE = /^[A-Za-z0-9._-]{1,64}$/;
/** A List-Id as mail carries it, without angle brackets (e.g. bpf.vger.kernel.org). */
const LIST = /^[A-Za-z0-9._-]{1,200}$/;
const AUTHOR = /^[^\s<>@"]{1,150}@[^\s<>@"]{1,100}$/;

export interface ListQuery {
  tree?: string;
  /** A mailing list's List-Id, lowercased. */
  list?: string;
  state?: (typeof LIST_STATES)[number];
  verdict?: (typeof LIST_VERDICTS)[number];
  /** An author's address. */
  author?: string;
  /** yes: a run found a regression; no: none did. */
  "has-regression"?: (typeof HAS_REGRESSION)[number];
  q?: string;
  offset: number;
}

export type WebRoute =
  | { kind: "home" }
  | { kind: "queue"; api: boolean }
  | { kind: "quarantine"; api: boolean }
  | { kind: "series-list"; api: boolean; query: ListQuery }
  | { kind: "series"; api: boolean; id: string }
  | { kind: "run"; api: boolean; id: string }
  | { kind: "samples"; id: string; format: "json" | "csv" }
  | { kind: "log"; id: string; name: string }
  | { kind: "trees"; api: boolean }
  | { kind: "tree-history"; api: boolean; tree: string };

export type ParsedRequest = { ok: true; route: WebRoute; head: boolean } | { ok: false; status: number; message: string; allow?: string };

function listQuery(params: URLSearchParams): { ok: true; query: ListQuery } | { ok: false; message: string } {
  const query: ListQuery = { offset: 0 };
  for (const [k, v] of params) {
    if (v === "") continue;
    if (k === "tree") {
      if (!TREE.test(v)) return { ok: false, message: "tree: a tree name (letters, digits, . _ -, at most 64)" };
      query.tree = v;
    } else if (k === "list") {
      if (!LIST.test(v)) return { ok: false, message: "list: a mailing list's List-Id without angle brackets, e.g. bpf.vger.kernel.org (letters, digits, . _ -)" };
      query.list = v.toLowerCase();
    } else if (k === "state") {
      const s = LIST_STATES.find((x) => x === v);
      if (!s) return { ok: false, message: `state: one of ${LIST_STATES.join(", ")}` };
      query.state = s;
    } else if (k === "verdict") {
      const s = LIST_VERDICTS.find((x) => x === v);
      if (!s) return { ok: false, message: `verdict: one of ${LIST_VERDICTS.join(", ")}` };
      query.verdict = s;
    } else if (k === "author") {
      if (!AUTHOR.test(v)) return { ok: false, message: "author: an e-mail address (name@domain)" };
      query.author = v;
    } else if (k === "has-regression") {
      const s = HAS_REGRESSION.find((x) => x === v);
      if (!s) return { ok: false, message: `has-regression: one of ${HAS_REGRESSION.join(", ")}` };
      query["has-regression"] = s;
    } else if (k === "q") {
      if (v.length > MAX_SEARCH) return { ok: false, message: `q: at most ${MAX_SEARCH} characters` };
      // The searched fields are one a line: a control character could only match across two of them.
      if (/\p{Cc}/u.test(v)) return { ok: false, message: "q: text without control characters (line breaks, tabs)" };
      query.q = v;
    } else if (k === "offset") {
      const n = /^\d{1,7}$/.test(v) ? Number(v) : Number.NaN;
      if (!(n <= MAX_OFFSET)) return { ok: false, message: `offset: a whole number from 0 to ${MAX_OFFSET}` };
      query.offset = n;
    } else return { ok: false, message: `unknown parameter ${JSON.stringify(k.slice(0, 40))}; allowed: q, tree, list, state, verdict, author, has-regression, offset` };
  }
  return { ok: true, query };
}

/** Method and target → what to serve, or the error status with a reason a reader can act on. */
export function parseWebRequest(method: string | undefined, target: string | undefined): ParsedRequest {
  if (method !== "GET" && method !== "HEAD") return { ok: false, status: 405, message: "read-only: GET and HEAD only", allow: "GET, HEAD" };
  const t = target ?? "/";
  if (t.length > MAX_URL) return { ok: false, status: 414, message: `request target over ${MAX_URL} characters` };
  let url: URL;
  try {
    url = new URL(t, "http://dashboard.invalid");
  } catch {
    return { ok: false, status: 400, message: "unreadable request target" };
  }
  const head = method === "HEAD";
  // Segments are matched raw: an encoded "/" or ".." never becomes part of an id (ID refuses "%").
  const parts = url.pathname.split("/").slice(1);
  const api = parts[0] === "api";
  const p = api ? parts.slice(1) : parts;
  const route = (r: WebRoute): ParsedRequest => ({ ok: true, route: r, head });
  const notFound: ParsedRequest = { ok: false, status: 404, message: `no page ${url.pathname.slice(0, 200)}` };
  if (!api && (url.pathname === "/" || url.pathname === "")) return route({ kind: "home" });
  if (p[0] === "queue" && p.length === 1) return route({ kind: "queue", api });
  if (p[0] === "quarantine" && p.length === 1) return route({ kind: "quarantine", api });
  if (p[0] === "trees" && p.length === 1) return route({ kind: "trees", api });
  if (p[0] === "trees" && p.length === 2) return p[1] !== undefined && TREE.test(p[1]) && p[1] !== "." && p[1] !== ".." ? route({ kind: "tree-history", api, tree: p[1] }) : notFound;
  const id = p[1];
  if (p[0] === "series" && p.length === 1) {
    const q = listQuery(url.searchParams);
    return q.ok ? route({ kind: "series-list", api, query: q.query }) : { ok: false, status: 400, message: q.message };
  }
  if (id === undefined || !ID.test(id) || id === "." || id === "..") return notFound;
  if (p[0] === "series" && p.length === 2) return route({ kind: "series", api, id });
  if (p[0] === "runs" && p.length === 2) return route({ kind: "run", api, id });
  if (api && p[0] === "runs" && p.length === 3 && (p[2] === "samples.json" || p[2] === "samples.csv")) {
    return route({ kind: "samples", id, format: p[2] === "samples.json" ? "json" : "csv" });
  }
  // A log by its name from a closed set (no "/", never a path): a stored text, or a file of the flow's own artifacts.
  if (api && p[0] === "runs" && p.length === 4 && p[2] === "logs" && isRunLogName(p[3] ?? "")) return route({ kind: "log", id, name: p[3]! });
  return notFound;
}
