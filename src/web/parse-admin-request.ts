import { createHash, timingSafeEqual } from "node:crypto";

/** Largest admin form body read; the forms carry a token and nothing else. */
export const MAX_ADMIN_BODY = 4096;
/** A shorter token is refused at start: it could be guessed. */
export const MIN_ADMIN_TOKEN = 16;
const ID = /^[A-Za-z0-9._-]{1,200}$/;
const POOL = /^[A-Za-z0-9_-]{1,64}$/;

export type AdminAction = { kind: "cancel"; flowId: string } | { kind: "rerun"; flowId: string } | { kind: "pause" | "resume"; pool: string } | { kind: "release"; quarantineId: number };

/** Where the reader goes back to after an action (only paths built from checked ids). */
export function adminReturnPath(a: AdminAction): string {
  if (a.kind === "cancel" || a.kind === "rerun") return `/runs/${encodeURIComponent(a.flowId)}`;
  return a.kind === "release" ? "/quarantine" : "/queue";
}

/** /admin/runs/<id>/cancel, /admin/pools/<pool>/pause|resume, /admin/quarantine/<n>/release → the action; null for anything else. */
export function parseAdminPath(pathname: string): AdminAction | null {
  const p = pathname.split("/").slice(1);
  if (p[0] !== "admin" || p.length !== 4) return null;
  if (p[1] === "runs" && (p[3] === "cancel" || p[3] === "rerun") && ID.test(p[2] ?? "") && p[2] !== "." && p[2] !== "..") return { kind: p[3], flowId: p[2]! };
  if (p[1] === "pools" && (p[3] === "pause" || p[3] === "resume") && POOL.test(p[2] ?? "")) return { kind: p[3], pool: p[2]! };
  if (p[1] === "quarantine" && p[3] === "release" && /^[1-9]\d{0,9}$/.test(p[2] ?? "")) return { kind: "release", quarantineId: Number(p[2]) };
  return null;
}

/**
 * Is this request the dashboard's own form? Browsers send Sec-Fetch-Site (and Origin on POST);
 * a page on another site gets "cross-site" or its own origin there. A client that sends
 * neither (curl) is no browser, so no other site can have made it send the token.
 */
export function sameOrigin(headers: { origin?: string | undefined; secFetchSite?: string | undefined; host?: string | undefined }, publicUrl: string | null): boolean {
  if (headers.secFetchSite !== undefined && headers.secFetchSite !== "same-origin" && headers.secFetchSite !== "none") return false;
  if (headers.origin === undefined) return true;
  const allowed = new Set<string>();
  if (headers.host) allowed.add(`http://${headers.host}`).add(`https://${headers.host}`);
  if (publicUrl) allowed.add(new URL(publicUrl).origin);
  return allowed.has(headers.origin);
}

/**
 * The token in the form equals the configured one. The token travels in the form body,
 * never in a cookie: a forged cross-site form cannot know it, so there is nothing for
 * CSRF to ride on. Compared as hashes in constant time.
 */
export function tokenMatches(body: string, expected: string): boolean {
  const given = new URLSearchParams(body).get("token") ?? "";
  const h = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(h(given), h(expected));
}
