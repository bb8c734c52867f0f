import type { FileHandle } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pipeline } from "node:stream";
import type { Logger } from "../lib/logger.ts";
import type { Db } from "../store/open-store.ts";
import { listSamples } from "../store/result-repository.ts";
import { allowedHostNames, hostAllowed } from "../web/check-host.ts";
import { type AdminAction, adminReturnPath, MAX_ADMIN_BODY, parseAdminPath, sameOrigin, tokenMatches } from "../web/parse-admin-request.ts";
import { parseWebRequest, type WebRoute } from "../web/parse-web-request.ts";
import { renderErrorPage } from "../web/render-error-page.ts";
import { renderQuarantinePage } from "../web/render-quarantine-page.ts";
import { renderQueuePage } from "../web/render-queue-page.ts";
import { CONTENT_SECURITY_POLICY } from "../web/render-layout.ts";
import { renderRunPage } from "../web/render-run-page.ts";
import { renderSamplesCsv } from "../web/render-samples-csv.ts";
import { renderSeriesList } from "../web/render-series-list.ts";
import { renderSeriesPage } from "../web/render-series-page.ts";
import { type QueueState, quarantineViewSchema, queueViewSchema, runViewSchema, seriesListViewSchema, seriesViewSchema } from "../web/web-view-schemas.ts";
import { loadTreeHistory } from "./load-tree-history.ts";
import { renderTreeHistoryPage, renderTreesPage } from "../web/render-tree-history-page.ts";
import { treeHistoryViewSchema, treesViewSchema } from "../web/tree-history-schema.ts";
import { loadQuarantineView, loadQueueView, loadRunLog, loadRunView, loadSeriesList, loadSeriesView } from "./load-web-views.ts";
import { isStoreUnavailable } from "./wait-for-store.ts";

export interface WebResponse {
  status: number;
  type: string;
  body: string;
  headers?: Record<string, string>;
  /** Bytes of an open file streamed after `body` (which is then its preface); the answer closes it. */
  file?: { handle: FileHandle; start: number; length: number };
}

/** A log file is served up to its last 16 MiB, the left-out start said in a first line. */
export const MAX_LOG_BYTES = 16 * 1024 * 1024;

const HTML = "text/html; charset=utf-8";
const JSON_TYPE = "application/json; charset=utf-8";

function json(status: number, value: unknown): WebResponse {
  return { status, type: JSON_TYPE, body: `${JSON.stringify(value, null, 1)}\n` };
}

function failure(api: boolean, status: number, message: string): WebResponse {
  return api ? json(status, { error: message }) : { status, type: HTML, body: renderErrorPage(status, message) };
}

export interface WebDeps {
  db: Db;
  trees: readonly string[];
  /** The trees whose tip is measured on a schedule (history.enabled). */
  historyTrees?: readonly string[];
  /** Queue and runner state from Redis; absent: the queue page says there is none. */
  queue?: { read(): Promise<QueueState> };
  /** This host's runner artifacts (`<workDir>/artifacts`): flows' whole logs are served from there when present. */
  artifactsDir?: string | null;
  /** Admin forms, when a token is configured; absent: /admin/* does not exist. */
  admin?: { token: string; publicUrl: string | null; perform(a: AdminAction): Promise<string> };
}

/** Seconds a client is asked to wait (Retry-After) while the store is being opened, migrated or cannot be reached. */
export const STORE_RETRY_AFTER_SEC = 5;

/** The store, or a getter that gives null while it is still being opened and brought up to date. */
export type WebStore = Db | (() => Db | null);

function unavailable(api: boolean, message: string): WebResponse {
  return { ...failure(api, 503, message), headers: { "Retry-After": String(STORE_RETRY_AFTER_SEC) } };
}

const NO_QUEUE: QueueState = { available: false, reason: "this dashboard has no Redis", queues: [], runners: [], unreadableRunners: 0, stageJobs: [], failedJobs: [] };

/** One route's answer, read from the store. Pages and API share the view; the API's passes its schema first. */
export async function answerWebRoute(deps: WebDeps, route: WebRoute): Promise<WebResponse> {
  const { db, trees } = deps;
  switch (route.kind) {
    case "home":
      return { status: 302, type: "text/plain; charset=utf-8", body: "see /series\n", headers: { Location: "/series" } };
    case "queue": {
      const view = await loadQueueView(db, deps.queue ? await deps.queue.read() : NO_QUEUE);
      return route.api ? json(200, queueViewSchema.parse(view)) : { status: 200, type: HTML, body: renderQueuePage(view, deps.admin !== undefined) };
    }
    case "quarantine": {
      const view = await loadQuarantineView(db);
      return route.api ? json(200, quarantineViewSchema.parse(view)) : { status: 200, type: HTML, body: renderQuarantinePage(view, deps.admin !== undefined) };
    }
    case "series-list": {
      const view = await loadSeriesList(db, route.query);
      return route.api ? json(200, seriesListViewSchema.parse(view)) : { status: 200, type: HTML, body: renderSeriesList(view, trees) };
    }
    case "series": {
      const view = await loadSeriesView(db, route.id);
      if (!view) return failure(route.api, 404, `no series ${route.id}`);
      return route.api ? json(200, seriesViewSchema.parse(view)) : { status: 200, type: HTML, body: renderSeriesPage(view) };
    }
    case "run": {
      const view = await loadRunView(db, route.id, deps.artifactsDir ?? null);
      if (!view) return failure(route.api, 404, `no run ${route.id}`);
      return route.api ? json(200, runViewSchema.parse(view)) : { status: 200, type: HTML, body: renderRunPage(view, deps.admin !== undefined) };
    }
    case "samples": {
      const rows = await listSamples(db, route.id);
      if (rows.length === 0) return failure(true, 404, `no samples of run ${route.id}`);
      const name = `${route.id}-samples.${route.format}`;
      const headers = { "Content-Disposition": `attachment; filename="${name}"` };
      if (route.format === "csv") return { status: 200, type: "text/csv; charset=utf-8", body: renderSamplesCsv(rows), headers };
      const samples = rows.map(({ id: _id, flow_id: _flow, values_json, ...r }) => ({ ...r, values: JSON.parse(values_json) as unknown }));
      return { ...json(200, { flowId: route.id, samples }), headers };
    }
    case "log": {
      const found = await loadRunLog(db, route.id, route.name, deps.artifactsDir ?? null);
      if (!found) return failure(true, 404, `no log ${route.name} of run ${route.id}`);
      // Runner output is the series' author's text: plain text, never sniffed (nosniff is on every answer).
      const type = "text/plain; charset=utf-8";
      if (found.kind === "tail") return { status: 200, type, body: found.log.text, headers: { "Content-Disposition": `inline; filename="${route.id}-${route.name}"` } };
      const { log } = found;
      const start = Math.max(0, log.size - MAX_LOG_BYTES);
      const note = start > 0 ? `# truncated: the first ${start} of ${log.size} bytes are left out, the last ${MAX_LOG_BYTES} follow; the whole file is ${log.path} on this host\n` : "";
      return { status: 200, type, body: note, file: { handle: log.handle, start, length: log.size - start }, headers: { "Content-Disposition": `attachment; filename="${route.id}-${route.name}"` } };
    }
    case "trees": {
      const view = treesViewSchema.parse({ trees: trees.map((name) => ({ name, history: deps.historyTrees?.includes(name) ?? false })) });
      return route.api ? json(200, view) : { status: 200, type: HTML, body: renderTreesPage(view) };
    }
    case "tree-history": {
      if (!trees.includes(route.tree)) return failure(route.api, 404, `no tree ${route.tree}`);
      const view = await loadTreeHistory(db, route.tree);
      return route.api ? json(200, treeHistoryViewSchema.parse(view)) : { status: 200, type: HTML, body: renderTreeHistoryPage(view) };
    }
  }
}

/** Read a form body up to `max` bytes; null when it is longer. */
function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > max) {
        resolve(null);
        req.resume();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** An admin form post: same origin, the token, then the action; back to the page it came from. */
async function answerAdmin(admin: NonNullable<WebDeps["admin"]>, action: AdminAction, req: IncomingMessage): Promise<WebResponse> {
  const h = (n: string) => (typeof req.headers[n] === "string" ? (req.headers[n] as string) : undefined);
  if (!sameOrigin({ origin: h("origin"), secFetchSite: h("sec-fetch-site"), host: h("host") }, admin.publicUrl)) {
    return failure(false, 403, "admin actions are taken from the dashboard's own pages only");
  }
  const body = await readBody(req, MAX_ADMIN_BODY);
  if (body === null) return failure(false, 413, `form over ${MAX_ADMIN_BODY} bytes`);
  if (!tokenMatches(body, admin.token)) return failure(false, 403, "wrong admin token");
  const said = await admin.perform(action);
  return { status: 303, type: "text/plain; charset=utf-8", body: `${said}\n`, headers: { Location: adminReturnPath(action) } };
}

export interface WebServer {
  /** Where it listens, e.g. http://127.0.0.1:8470 */
  url: string;
  close(): Promise<void>;
}

/**
 * The dashboard over HTTP: read-only pages and JSON. A page that throws is logged and
 * answered 500; the process (the whole service, under `patchbench start`) goes on.
 */
export async function serveWeb(
  opts: Omit<WebDeps, "db"> & { db: WebStore; log: Logger; host: string; port: number; publicUrl?: string | null; allowedHosts?: readonly string[] },
): Promise<WebServer> {
  const { log } = opts;
  const storeNow = typeof opts.db === "function" ? opts.db : () => opts.db as Db;
  const deps = opts;
  const hostNames = allowedHostNames({ host: deps.host, publicUrl: deps.publicUrl ?? deps.admin?.publicUrl ?? null, allowedHosts: deps.allowedHosts ?? [] });
  const send = (req: IncomingMessage, res: ServerResponse, r: WebResponse) => {
    res.writeHead(r.status, {
      "Content-Type": r.type,
      "Content-Length": Buffer.byteLength(r.body) + (r.file?.length ?? 0),
      "Content-Security-Policy": CONTENT_SECURITY_POLICY,
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
      "Cache-Control": "no-store",
      ...r.headers,
    });
    const file = r.file;
    if (!file || req.method === "HEAD" || file.length === 0) {
      res.end(req.method === "HEAD" ? undefined : r.body);
      void file?.handle.close();
      return;
    }
    // Streamed: a log of many MiB is never held whole; a client that goes away closes the file.
    res.write(r.body);
    pipeline(file.handle.createReadStream({ start: file.start, end: file.start + file.length - 1 }), res, (e) => {
      if (e && e.code !== "ERR_STREAM_PREMATURE_CLOSE") log.warn({ err: e.message, url: req.url?.slice(0, 300) }, "dashboard log file: streaming failed");
    });
  };
  const server = createServer((req, res) => {
    // Before anything is read or done: a page served under a name we do not have is a rebinding attempt or a misroute.
    if (!hostAllowed(req.headers.host, hostNames)) {
      const said = req.headers.host ? `this dashboard does not answer to the host ${JSON.stringify(req.headers.host.slice(0, 100))}` : "a Host header is required";
      send(req, res, { ...failure((req.url ?? "").startsWith("/api/"), req.headers.host ? 421 : 400, said), headers: { Connection: "close" } });
      return;
    }
    const api = (req.url ?? "").startsWith("/api/");
    // Every page and action reads the store: until it is open at the schema this code knows, say when to come back.
    const db = storeNow();
    if (!db) {
      send(req, res, unavailable(api, "the store is being opened and brought up to date (schema migration); try again shortly"));
      return;
    }
    const action = deps.admin && req.method === "POST" ? parseAdminPath(new URL(req.url ?? "/", "http://dashboard.invalid").pathname) : null;
    if (deps.admin && action) {
      answerAdmin(deps.admin, action, req)
        .then((r) => send(req, res, r))
        .catch((e: unknown) => {
          log.error({ err: e, action }, "dashboard admin action failed");
          if (!res.headersSent) send(req, res, failure(false, 500, "the action failed; the log has the reason"));
        });
      return;
    }
    const parsed = parseWebRequest(req.method, req.url);
    if (!parsed.ok) {
      send(req, res, { ...failure(api, parsed.status, parsed.message), ...(parsed.allow ? { headers: { Allow: parsed.allow } } : {}) });
      return;
    }
    answerWebRoute({ ...deps, db }, parsed.route)
      .then((r) => send(req, res, r))
      .catch((e: unknown) => {
        // A store that is locked (a migration by another process) or away is temporary: not the page's fault.
        if (isStoreUnavailable(e)) {
          log.warn({ err: e instanceof Error ? e.message : String(e), url: req.url?.slice(0, 300) }, "dashboard page: the store cannot be reached");
          if (!res.headersSent) send(req, res, unavailable(api, "the store cannot be reached right now (locked by a migration, or restarting); try again shortly"));
          else res.destroy();
          return;
        }
        log.error({ err: e, url: req.url?.slice(0, 300) }, "dashboard page failed");
        if (!res.headersSent) send(req, res, failure(api, 500, "the page failed; the log has the reason"));
        else res.destroy();
      });
  });
  // A request that never finishes its headers does not hold a socket for ever.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(deps.port, deps.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const host = a.family === "IPv6" ? `[${a.address}]` : a.address;
  return {
    url: `http://${host}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
