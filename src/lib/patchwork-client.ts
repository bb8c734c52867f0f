import type { Logger } from "./logger.ts";

/**
 * How a patchwork request failed, classified once: `auth` (the token is
 * wrong or expired) and `forbidden` (the token's user may not do this, e.g.
 * is no maintainer of the project) are configuration errors and never
 * retried; `not-found` is final for that object; `unavailable` is what is
 * left after the bounded retries (the job's own backoff takes over).
 */
export type PatchworkErrorCode = "auth" | "forbidden" | "not-found" | "bad-request" | "unavailable";

export class PatchworkError extends Error {
  override name = "PatchworkError";
  constructor(
    message: string,
    readonly code: PatchworkErrorCode,
    readonly status: number | null,
  ) {
    super(message);
  }
}

export interface PatchworkClientOptions {
  /** Root of the instance, e.g. https://patchwork.kernel.org */
  url: string;
  token: string | null;
  /** Where the token came from, named in errors (never the token itself). */
  tokenSource?: string;
  log: Logger;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** Attempts on 429/502/503/504 and network errors before giving up. */
  attempts?: number;
  /** A Retry-After longer than this is not waited out here: the job retries later. */
  maxRetryAfterSec?: number;
  backoffMs?: number;
}

export interface PatchworkClient {
  url: string;
  get<T>(path: string, query?: Record<string, string>): Promise<T>;
  /** Every page of a list, following the Link: rel="next" headers patchwork sends. */
  list<T>(path: string, query?: Record<string, string>): Promise<T[]>;
  /**
   * POST is not idempotent: a 502/504 may come after patchwork stored it.
   * Before each retry `landed()` is asked whether it did; true ends it.
   */
  post<T>(path: string, body: unknown, landed?: () => Promise<boolean>): Promise<T | null>;
  /** A non-API download (series or patch mbox): raw bytes. */
  download(url: string): Promise<Buffer>;
}

const TRANSIENT = new Set([429, 502, 503, 504]);

export function createPatchworkClient(o: PatchworkClientOptions): PatchworkClient {
  const root = o.url.replace(/\/+$/, "");
  const doFetch = o.fetch ?? fetch;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const attempts = o.attempts ?? 4;
  const maxRetryAfter = o.maxRetryAfterSec ?? 120;
  const backoff = o.backoffMs ?? 1000;
  const headers = (json: boolean): Record<string, string> => ({
    Accept: "application/json",
    "User-Agent": "patchbench",
    ...(o.token ? { Authorization: `Token ${o.token}` } : {}),
    ...(json ? { "Content-Type": "application/json" } : {}),
  });

  const classify = async (res: Response, what: string): Promise<PatchworkError> => {
    const text = await res.text().catch(() => "");
    let detail = text.slice(0, 200);
    try {
      detail = JSON.stringify(JSON.parse(text) as unknown).slice(0, 300);
    } catch {}
    const where = `${what} at ${root}`;
    // Django REST framework answers a bad or missing token with 401, or with 403 when its first authentication class sends no challenge (session auth).
    if (res.status === 401 || (res.status === 403 && /invalid token|token has expired|credentials were not provided/i.test(detail))) {
      return new PatchworkError(`patchwork refused the API token${o.tokenSource ? ` from ${o.tokenSource}` : ""} (${res.status} ${detail}) for ${where}: check it is current`, "auth", res.status);
    }
    if (res.status === 403) return new PatchworkError(`patchwork forbids ${where} (${detail}): the token's user must be a maintainer of the project to post checks`, "forbidden", 403);
    if (res.status === 404) return new PatchworkError(`${where}: not found (${detail})`, "not-found", 404);
    if (res.status === 400) return new PatchworkError(`patchwork rejected ${where}: ${detail}`, "bad-request", 400);
    return new PatchworkError(`${where}: ${res.status} ${detail}`, "unavailable", res.status);
  };

  /** One request with bounded retries; `beforeRetry` may end it (a POST that landed). */
  async function send(method: string, url: string, body: unknown, what: string, beforeRetry?: () => Promise<boolean>): Promise<Response | null> {
    // The token goes to the configured instance only: an mbox or next-page URL that a response
    // names elsewhere is refused, not fetched with it.
    if (new URL(url).origin !== new URL(root).origin) throw new PatchworkError(`${what}: ${new URL(url).origin} is not the patchwork at ${root}; not fetched`, "bad-request", null);
    for (let attempt = 1; ; attempt++) {
      let res: Response | null = null;
      let wait = backoff * 2 ** (attempt - 1);
      try {
        res = await doFetch(url, { method, headers: headers(body !== undefined), ...(body !== undefined ? { body: JSON.stringify(body) } : {}), redirect: "error" });
      } catch (e) {
        if (attempt >= attempts) throw new PatchworkError(`${what} at ${root}: ${(e as Error).message}`, "unavailable", null);
        o.log.warn({ what, attempt, err: (e as Error).message }, "patchwork unreachable; retrying");
      }
      if (res) {
        if (res.ok) return res;
        if (!TRANSIENT.has(res.status) || attempt >= attempts) throw await classify(res, what);
        if (res.status === 429) {
          // https://www.rfc-editor.org/rfc/rfc9110#field.retry-after: seconds (what DRF's throttling sends) or an HTTP date.
          const header = res.headers.get("retry-after") ?? "";
          const after = /^\d+$/.test(header) ? Number(header) : Math.ceil((Date.parse(header) - Date.now()) / 1000);
          const sec = Number.isFinite(after) ? Math.max(after, 0) : 60;
          if (sec > maxRetryAfter) throw new PatchworkError(`${what} at ${root}: throttled for ${sec} s`, "unavailable", 429);
          wait = sec * 1000;
        }
        await res.body?.cancel();
        o.log.warn({ what, attempt, status: res.status, waitMs: wait }, "patchwork answered a transient error; retrying");
      }
      await sleep(wait);
      if (beforeRetry && (await beforeRetry())) return null;
    }
  }

  const apiUrl = (path: string, query?: Record<string, string>) => {
    const u = new URL(`${root}/api/1.3/${path.replace(/^\/+/, "")}`);
    for (const [k, v] of Object.entries(query ?? {})) u.searchParams.set(k, v);
    return u.toString();
  };

  return {
    url: root,
    async get<T>(path: string, query?: Record<string, string>) {
      const res = await send("GET", apiUrl(path, query), undefined, `GET ${path}`);
      return (await res!.json()) as T;
    },
    async list<T>(path: string, query?: Record<string, string>) {
      const out: T[] = [];
      let next: string | null = apiUrl(path, { per_page: "100", ...query });
      for (let pages = 0; next && pages < 1000; pages++) {
        const res: Response | null = await send("GET", next, undefined, `GET ${path}`);
        out.push(...((await res!.json()) as T[]));
        next = /<([^>]+)>;\s*rel="next"/.exec(res!.headers.get("link") ?? "")?.[1] ?? null;
      }
      return out;
    },
    async post<T>(path: string, body: unknown, landed?: () => Promise<boolean>) {
      const res = await send("POST", apiUrl(path), body, `POST ${path}`, landed);
      return res ? ((await res.json()) as T) : null;
    },
    async download(url: string) {
      const res = await send("GET", url, undefined, `GET ${new URL(url).pathname}`);
      return Buffer.from(await res!.arrayBuffer());
    },
  };
}
