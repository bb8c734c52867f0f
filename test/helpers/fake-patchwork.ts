import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createPatchworkJson, type FakeCheck, type FakePatch, type FakeSeriesRow, type FakeUser, naive } from "./fake-patchwork-json.ts";
import { type FakeMail, parseFakeMail, seriesOfMbox } from "./fake-patchwork-mails.ts";
import {
  findPatchworkOperation,
  validatePatchworkBody,
  validatePatchworkParams,
  validatePatchworkResponse,
} from "./fake-patchwork-openapi.ts";

/**
 * A local patchwork (REST API 1.3) for tests. Every API request's path,
 * query, and JSON body, and every answer, is checked against patchwork's
 * own OpenAPI description; a violation is recorded in `problems` (tests
 * assert it stays empty). Series, patches and their mboxes come from real
 * mbox files; checks and patch states (a maintainer's PATCH, as git-pw
 * sends it) are kept in memory. Token auth as Django REST framework does
 * it, check creation and patch updates for project maintainers only, and
 * faults on demand (429 with Retry-After, 502/504 as a proxy answers).
 */

type Json = Record<string, unknown>;
export type { FakeCheck, FakePatch, FakeSeriesRow };

export interface FakePatchwork {
  url: string;
  project: { id: number; linkName: string };
  /** A maintainer's API token (may create checks) and a plain user's (may not). */
  maintainerToken: string;
  userToken: string;
  requests: { method: string; path: string; operationId: string | null; status: number }[];
  problems: string[];
  series: FakeSeriesRow[];
  checks: FakeCheck[];
  /** Add the series of an mbox (one per subject version), with events dated now. */
  addMbox(text: string): FakeSeriesRow[];
  /** A patch of a series patchwork already has, arriving late (patch-created; series-completed when it was the last one). */
  addPatch(seriesId: number, mailText: string): FakePatch;
  /** The cover letter of a series patchwork already has, arriving late: cover-created. */
  addCover(seriesId: number, mailText: string): void;
  /** A maintainer (or bot) changes a patch's state: patch-state-changed. */
  setPatchState(patchId: number, state: string): void;
  /** The series was deleted: its patches answer 404 from now on. */
  deleteSeries(id: number): void;
  /**
   * Answer the next `count` API requests with `status` (429 carries
   * Retry-After: retryAfter seconds); `after`: 502/504 once the request was
   * carried out, as a proxy that timed out on a slow patchwork does.
   */
  failNext(count: number, status: 429 | 502 | 504, opts?: { retryAfter?: number; after?: boolean; /** Only requests of this method (the others pass). */ method?: string }): void;
  /** Hold the next API request of this method until `gate()` (called when it arrives) settles: a request slow in flight. */
  holdNext(method: string, gate: () => Promise<unknown>): void;
  clearFaults(): void;
  close(): Promise<void>;
}

interface FakeEvent {
  id: number;
  category: string;
  date: string;
  payload: () => Json;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Patchwork's file name of a patch: its name with every run of other characters made "-". */
function fileName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "") || "patch";
}

export async function startFakePatchwork(opts: { linkName?: string; mboxes?: string[] } = {}): Promise<FakePatchwork> {
  const linkName = opts.linkName ?? "netdevbpf";
  const maintainerToken = randomBytes(20).toString("hex");
  const userToken = randomBytes(20).toString("hex");
  const users: FakeUser[] = [
    { id: 1, username: "patchbench", first_name: "", last_name: "", email: "bot@example.org", token: maintainerToken, maintainer: true },
    { id: 2, username: "someone", first_name: "", last_name: "", email: "someone@example.org", token: userToken, maintainer: false },
  ];
  const state = {
    requests: [] as FakePatchwork["requests"],
    problems: [] as string[],
    series: [] as FakeSeriesRow[],
    checks: [] as FakeCheck[],
    events: [] as FakeEvent[],
    faults: [] as { status: 429 | 502 | 504; retryAfter: number; after: boolean; method: string | undefined }[],
    holds: [] as { method: string; gate: () => Promise<unknown> }[],
    nextId: 1,
    clock: Date.now(),
  };
  let url = "";
  // Each event a millisecond after the last: `since` cursors see a strict order.
  const now = () => {
    state.clock = Math.max(state.clock + 1, Date.now());
    return naive(new Date(state.clock));
  };

  const { projectEmbedded, seriesEmbedded, patchEmbedded, coverEmbedded, coverDetail, checkJson, patchList, seriesJson, checksOf } = createPatchworkJson({
    url: () => url,
    linkName,
    users,
    series: state.series,
    checks: state.checks,
  });
  /** The first fault that applies to a request of this method, taken when it is of the `after` kind asked for. */
  const takeFault = (method: string, after: boolean) => {
    const i = state.faults.findIndex((f) => f.method === undefined || f.method === method);
    if (i < 0 || state.faults[i]!.after !== after) return undefined;
    return state.faults.splice(i, 1)[0];
  };
  const event = (category: string, payload: () => Json) =>
    state.events.push({ id: state.events.length + 1, category, date: now(), payload });
  const allPatches = () => state.series.flatMap((s) => s.patches).filter((p) => !p.deleted);

  const addMbox = (text: string): FakeSeriesRow[] => {
    const added: FakeSeriesRow[] = [];
    for (const mails of seriesOfMbox(text)) {
      const s: FakeSeriesRow = { id: state.nextId++, version: mails[0]!.version, total: mails[0]!.total, cover: null, patches: [], date: now() };
      state.series.push(s);
      event("series-created", () => ({ series: seriesEmbedded(s) }));
      for (const m of mails) {
        if (m.counter === 0 || !m.diff) {
          if (!s.cover) {
            s.cover = { id: state.nextId++, mail: m };
            event("cover-created", () => ({ cover: coverEmbedded(s) }));
          }
          continue;
        }
        const p: FakePatch = { id: state.nextId++, mail: m, seriesId: s.id, date: now(), deleted: false, state: "new" };
        s.patches.push(p);
        event("patch-created", () => ({ patch: patchEmbedded(p) }));
      }
      if (s.patches.length >= s.total) event("series-completed", () => ({ series: seriesEmbedded(s) }));
      added.push(s);
    }
    return added;
  };

  const addPatch = (seriesId: number, mailText: string): FakePatch => {
    const s = state.series.find((x) => x.id === seriesId);
    if (!s) throw new Error(`no series ${seriesId}`);
    const p: FakePatch = { id: state.nextId++, mail: parseFakeMail(mailText), seriesId, date: now(), deleted: false, state: "new" };
    s.patches.push(p);
    s.patches.sort((a, b) => (a.mail.counter ?? 1) - (b.mail.counter ?? 1));
    event("patch-created", () => ({ patch: patchEmbedded(p) }));
    if (s.patches.length === s.total) event("series-completed", () => ({ series: seriesEmbedded(s) }));
    return p;
  };

  const addCover = (seriesId: number, mailText: string) => {
    const s = state.series.find((x) => x.id === seriesId);
    if (!s) throw new Error(`no series ${seriesId}`);
    s.cover = { id: state.nextId++, mail: parseFakeMail(mailText) };
    event("cover-created", () => ({ cover: coverEmbedded(s) }));
  };

  const setPatchState = (patchId: number, to: string) => {
    const p = allPatches().find((x) => x.id === patchId);
    if (!p) throw new Error(`no patch ${patchId}`);
    const from = p.state;
    p.state = to;
    event("patch-state-changed", () => ({ patch: patchEmbedded(p), previous_state: from, current_state: to }));
  };

  const patchDetail = (patch: FakePatch): Json => ({
    ...patchList(patch),
    headers: Object.fromEntries(patch.mail.headers),
    content: patch.mail.content,
    diff: patch.mail.diff,
    prefixes: patch.mail.prefixes,
  });

  /** One page of a list, with the Link header patchwork's LinkHeaderPagination writes. */
  const page = (res: ServerResponse, q: URLSearchParams, path: string, items: Json[]): Json[] => {
    const per = Math.min(Number(q.get("per_page") ?? 30) || 30, 250);
    const n = Math.max(Number(q.get("page") ?? 1) || 1, 1);
    const links: string[] = [];
    const at = (k: number) => {
      const u = new URLSearchParams(q);
      u.set("page", String(k));
      return `<${url}${path}?${u}>`;
    };
    if (n * per < items.length) links.push(`${at(n + 1)}; rel="next"`);
    if (n > 1) links.push(`${at(n - 1)}; rel="prev"`);
    if (links.length) res.setHeader("Link", links.join(", "));
    return items.slice((n - 1) * per, n * per);
  };

  const handleApi = async (req: IncomingMessage, res: ServerResponse, path: string, q: URLSearchParams, raw: string): Promise<[number, unknown, string | null]> => {
    const method = req.method ?? "GET";
    const op = findPatchworkOperation(method, path.replace(/\/$/, ""));
    if (!path.endsWith("/")) state.problems.push(`${method} ${path}: patchwork's API URLs end in "/" (Django answers a redirect)`);
    if (!op) {
      state.problems.push(`${method} ${path}: no such operation in patchwork's description`);
      return [404, { detail: "Not found." }, null];
    }
    state.problems.push(...validatePatchworkParams(op, q).map((e) => `${op.operationId}: ${e}`));
    const auth = req.headers.authorization;
    const user = auth ? users.find((u) => auth === `Token ${u.token}`) : undefined;
    // Django REST framework: a wrong token fails the request even on read-only endpoints.
    if (auth && !user) return [403, { detail: "Invalid token." }, op.operationId];
    const fault = takeFault(method, false);
    if (fault?.status === 429) {
      res.setHeader("Retry-After", String(fault.retryAfter));
      return [429, { detail: `Request was throttled. Expected available in ${fault.retryAfter} seconds.` }, op.operationId];
    }
    if (fault) return [fault.status, null, op.operationId];
    const id = Number(op.params.id ?? op.params.patch_id);
    const patch = allPatches().find((p) => p.id === id);
    switch (op.operationId) {
      case "events_list": {
        const since = q.get("since");
        const cats = q.getAll("category");
        const rows = state.events
          .filter((e) => (cats.length ? cats.includes(e.category) : true) && (!since || e.date >= since))
          .sort((a, b) => (q.get("order") === "date" ? a.date.localeCompare(b.date) : b.date.localeCompare(a.date)))
          .map((e) => ({ id: e.id, category: e.category, project: projectEmbedded(), date: e.date, actor: null, payload: e.payload() }));
        return [200, page(res, q, path, rows), op.operationId];
      }
      case "series_read": {
        const s = state.series.find((x) => x.id === id);
        return s?.patches.some((p) => !p.deleted) ? [200, seriesJson(s), op.operationId] : [404, { detail: "Not found." }, op.operationId];
      }
      case "covers_read": {
        const s = state.series.find((x) => x.cover?.id === id);
        return s ? [200, coverDetail(s), op.operationId] : [404, { detail: "Not found." }, op.operationId];
      }
      case "patches_list": {
        const msgid = q.get("msgid");
        const series = q.get("series");
        const rows = allPatches().filter((p) => (!msgid || p.mail.msgid === msgid) && (!series || String(p.seriesId) === series));
        return [200, page(res, q, path, rows.map(patchList)), op.operationId];
      }
      case "patches_read":
        if (!patch) return [404, { detail: "Not found." }, op.operationId];
        return [200, patchDetail(patch), op.operationId];
      case "patches_partial_update":
      case "patches_update": {
        // What a maintainer's client (git-pw patch update --state) sends; only the state is kept here.
        if (!user) return [403, { detail: "Authentication credentials were not provided." }, op.operationId];
        if (!user.maintainer) return [403, { detail: "You do not have permission to perform this action." }, op.operationId];
        if (!patch) return [404, { detail: "Not found." }, op.operationId];
        let body: Json;
        try {
          // Django REST framework parses JSON and form posts alike (git-pw 2.0 sends a form).
          body = /x-www-form-urlencoded/.test(req.headers["content-type"] ?? "") ? Object.fromEntries(new URLSearchParams(raw)) : (JSON.parse(raw) as Json);
        } catch {
          return [400, { state: ["JSON parse error"] }, op.operationId];
        }
        const errors = validatePatchworkBody(op, body);
        if (errors.length) {
          state.problems.push(...errors.map((e) => `${op.operationId}: ${e}`));
          return [400, { state: errors }, op.operationId];
        }
        if (typeof body.state === "string" && body.state !== patch.state) setPatchState(patch.id, body.state);
        return [200, patchDetail(patch), op.operationId];
      }
      case "checks_list": {
        if (!patch) return [404, { detail: "Not found." }, op.operationId];
        const rows = checksOf(id).filter((c) => (!q.get("context") || c.context === q.get("context")) && (!q.get("state") || c.state === q.get("state")));
        return [200, page(res, q, path, rows.map(checkJson)), op.operationId];
      }
      case "checks_create": {
        if (!user) return [403, { detail: "Authentication credentials were not provided." }, op.operationId];
        if (!user.maintainer) return [403, { detail: "You do not have permission to perform this action." }, op.operationId];
        if (!patch) return [404, { detail: "Not found." }, op.operationId];
        let body: Json;
        try {
          body = JSON.parse(raw) as Json;
        } catch {
          return [400, { detail: ["JSON parse error"] }, op.operationId];
        }
        const errors = validatePatchworkBody(op, body);
        if (errors.length) {
          state.problems.push(...errors.map((e) => `checks_create: ${e}`));
          return [400, { state: errors }, op.operationId];
        }
        const c: FakeCheck = {
          id: state.nextId++,
          patchId: id,
          userId: user.id,
          date: now(),
          state: String(body.state),
          target_url: (body.target_url as string | null | undefined) ?? null,
          context: (body.context as string | undefined) ?? "default",
          description: (body.description as string | null | undefined) ?? null,
        };
        state.checks.push(c);
        event("check-created", () => ({ patch: patchEmbedded(patch), check: checkJson(c) }));
        return [201, checkJson(c), op.operationId];
      }
      default:
        return [404, { detail: `the stand-in does not serve ${op.operationId}` }, op.operationId];
    }
  };

  /** Django views outside the API: the mbox of a series or of one patch, the mails as they came. */
  const handleMbox = (path: string): [number, string, string?] => {
    const s = /^\/series\/(\d+)\/mbox\/$/.exec(path);
    if (s) {
      const row = state.series.find((x) => x.id === Number(s[1]));
      if (!row) return [404, "Not found"];
      const mails = [row.cover?.mail, ...row.patches.filter((p) => !p.deleted).map((p) => p.mail)].filter((m): m is FakeMail => !!m);
      return [200, mails.map((m) => m.raw).join(""), fileName(mails[0]?.name ?? "series")];
    }
    const c = /^\/project\/[^/]+\/cover\/([^/]+)\/mbox\/$/.exec(path);
    const cover = c && state.series.find((x) => x.cover?.mail.msgid === decodeURIComponent(c[1]!))?.cover;
    if (cover) return [200, cover.mail.raw, fileName(cover.mail.name)];
    const p = /^\/project\/[^/]+\/patch\/([^/]+)\/mbox\/$/.exec(path);
    const patch = p && allPatches().find((x) => x.mail.msgid === decodeURIComponent(p[1]!));
    return patch ? [200, patch.mail.raw, fileName(patch.mail.name)] : [404, "Not found"];
  };

  const server = createServer((req, res) => {
    void (async () => {
      const u = new URL(req.url ?? "/", "http://localhost");
      const raw = await readBody(req);
      if (!u.pathname.startsWith("/api/")) {
        const [status, body, file] = handleMbox(u.pathname);
        state.requests.push({ method: req.method ?? "GET", path: u.pathname, operationId: null, status });
        // patchwork/views: text/plain, and the file name clients such as git-pw save it under.
        res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", ...(file ? { "Content-Disposition": `attachment; filename=${file}.patch` } : {}) }).end(body);
        return;
      }
      // A proxy timing out after patchwork did the work (NIPA saw POSTs answered 504 that had landed).
      const late = takeFault(req.method ?? "GET", true);
      const hold = state.holds.findIndex((h) => h.method === req.method);
      if (hold >= 0) await state.holds.splice(hold, 1)[0]!.gate();
      const handled = await handleApi(req, res, u.pathname, u.searchParams, raw);
      const [status, body, operationId] = late ? ([late.status, null, handled[2]] as const) : handled;
      state.requests.push({ method: req.method ?? "GET", path: `${u.pathname}${u.search}`, operationId, status });
      if (status === 502 || status === 504) {
        // What nginx in front of patchwork answers: HTML, not JSON.
        res.writeHead(status, { "Content-Type": "text/html" }).end(`<html><body><h1>${status}</h1></body></html>`);
        return;
      }
      const op = findPatchworkOperation(req.method ?? "GET", u.pathname.replace(/\/$/, ""));
      // 403 for a bad token and 429 come from Django REST framework for any operation; the description lists neither everywhere.
      if (op && status !== 429 && !(status === 403 && !op.op.security)) {
        state.problems.push(...validatePatchworkResponse(op, status, body).map((e) => `${op.operationId}: ${e}`));
      }
      res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
    })().catch((e: unknown) => {
      state.problems.push(`stand-in crashed: ${(e as Error).stack ?? String(e)}`);
      res.writeHead(500).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const m of opts.mboxes ?? []) addMbox(m);

  return {
    url,
    project: { id: 1, linkName },
    maintainerToken,
    userToken,
    requests: state.requests,
    problems: state.problems,
    series: state.series,
    checks: state.checks,
    addMbox,
    addPatch,
    addCover,
    setPatchState,
    deleteSeries(id) {
      for (const p of state.series.find((s) => s.id === id)?.patches ?? []) p.deleted = true;
    },
    failNext(count, status, opts = {}) {
      for (let i = 0; i < count; i++) state.faults.push({ status, retryAfter: opts.retryAfter ?? 1, after: opts.after ?? false, method: opts.method });
    },
    holdNext(method, gate) {
      state.holds.push({ method, gate });
    },
    clearFaults() {
      state.faults.length = 0;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
