import { isIP } from "node:net";

/**
 * The host names a request may name in its Host header: loopback names, where it listens,
 * the public address's host, and the configured extras. Lowercased, without ports.
 */
export function allowedHostNames(o: { host: string; publicUrl: string | null; allowedHosts: readonly string[] }): Set<string> {
  const names = new Set(["localhost"]);
  if (o.host !== "" && o.host !== "0.0.0.0" && o.host !== "::") names.add(o.host.toLowerCase());
  if (o.publicUrl) names.add(new URL(o.publicUrl).hostname.toLowerCase());
  for (const h of o.allowedHosts) names.add(h.toLowerCase());
  return names;
}

/**
 * Is this Host header one the dashboard answers? A DNS-rebinding page reaches us under
 * its own domain name (its Host header names it), so any other name is refused. An IP
 * address cannot be rebound (the browser's origin is then that address), so IP literals pass,
 * as do *.localhost names (browsers resolve them to loopback only, RFC 6761).
 */
export function hostAllowed(header: string | undefined, names: ReadonlySet<string>): boolean {
  if (!header) return false;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::\d{1,5})?$/.exec(header.trim());
  if (!m) return false;
  const name = m[1]!.toLowerCase().replace(/\.$/, "");
  const bare = name.startsWith("[") ? name.slice(1, -1) : name;
  return isIP(bare) !== 0 || names.has(name) || names.has(bare) || name.endsWith(".localhost");
}
