import { gunzipSync } from "node:zlib";
import { PatchbenchError } from "../../lib/errors.ts";
import type { Fetch } from "./inbox-source.ts";

/** HTTP validators of the last 200 answer (RFC 9110 §13.1). */
export interface Validators {
  etag: string | null;
  lastModified: string | null;
}

export type ConditionalResult =
  | { status: "not-modified" }
  | { status: "ok"; body: Buffer; validators: Validators }
  | { status: "gone" };

/** A non-2xx answer (infra: retried with backoff); Retry-After kept when the server sent one. */
export class HttpStatusError extends PatchbenchError {
  readonly status: number;
  readonly retryAfterSec: number | null;
  constructor(url: string, status: number, retryAfterSec: number | null) {
    super("infra", `GET ${url}: HTTP ${status}`);
    this.name = "HttpStatusError";
    this.status = status;
    this.retryAfterSec = retryAfterSec;
  }
}

/** Retry-After as seconds (delta-seconds or an HTTP date), or null. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  return Number.isNaN(t) ? null : Math.max(0, Math.round((t - now) / 1000));
}

export interface FetchOptions {
  validators?: Validators | null;
  timeoutMs?: number;
  /** Answer 404/410 with `gone` instead of throwing (a deleted message). */
  goneOk?: boolean;
  /** Largest body accepted. Default 64 MiB. */
  maxBytes?: number;
  userAgent?: string;
}

/**
 * GET with If-None-Match / If-Modified-Since when validators are known, so an
 * unchanged resource costs the server a 304 instead of a body. Gzip bodies
 * (lore's t.mbox.gz is served as application/gzip, not Content-Encoding) are
 * unpacked.
 */
export async function fetchConditional(fetchFn: Fetch, url: string, options: FetchOptions = {}): Promise<ConditionalResult> {
  const headers: Record<string, string> = { "user-agent": options.userAgent ?? "patchbench (public-inbox follower)" };
  if (options.validators?.etag) headers["if-none-match"] = options.validators.etag;
  if (options.validators?.lastModified) headers["if-modified-since"] = options.validators.lastModified;
  let res: Response;
  try {
    res = await fetchFn(url, { headers, signal: AbortSignal.timeout(options.timeoutMs ?? 30_000), redirect: "follow" });
  } catch (e) {
    throw new PatchbenchError("infra", `GET ${url}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (res.status === 304) {
    await res.body?.cancel();
    return { status: "not-modified" };
  }
  if (options.goneOk && (res.status === 404 || res.status === 410)) {
    await res.body?.cancel();
    return { status: "gone" };
  }
  if (res.status < 200 || res.status > 299) {
    await res.body?.cancel();
    throw new HttpStatusError(url, res.status, parseRetryAfter(res.headers.get("retry-after")));
  }
  const max = options.maxBytes ?? 64 * 1024 * 1024;
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > max) {
    await res.body?.cancel();
    throw new PatchbenchError("input", `GET ${url}: ${declared} bytes exceeds the ${max}-byte limit`);
  }
  let body = Buffer.from(await res.arrayBuffer());
  if (body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b) {
    try {
      body = gunzipSync(body, { maxOutputLength: max });
    } catch (e) {
      throw new PatchbenchError("input", `GET ${url}: broken gzip: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (body.length > max) throw new PatchbenchError("input", `GET ${url}: body exceeds the ${max}-byte limit`);
  return {
    status: "ok",
    body,
    validators: { etag: res.headers.get("etag"), lastModified: res.headers.get("last-modified") },
  };
}
