/**
 * Who may start a benchmark (pure policy). Benchmarks spend runner time and
 * change sysctls on the runner, so only people the project already trusts
 * may ask.
 */

export type Decision = { allowed: true; reason: string } | { allowed: false; reason: string };

/**
 * GitHub's author_association values
 * (https://docs.github.com/en/graphql/reference/enums#commentauthorassociation).
 */
export const TRUSTED_ASSOCIATIONS = ["OWNER", "MEMBER", "COLLABORATOR"] as const;

export interface GithubPolicy {
  /** Logins allowed whatever their association (compared case-insensitively, as GitHub does). */
  allowlist: readonly string[];
}

export function authorizeGithub(
  who: { login: string; association: string; type?: string },
  policy: GithubPolicy,
): Decision {
  if (who.type === "Bot") return { allowed: false, reason: "bots cannot start benchmarks" };
  const login = who.login.toLowerCase();
  if (policy.allowlist.some((a) => a.toLowerCase() === login)) return { allowed: true, reason: `${who.login} is on the allowlist` };
  if ((TRUSTED_ASSOCIATIONS as readonly string[]).includes(who.association)) {
    return { allowed: true, reason: `${who.login} is ${who.association.toLowerCase()} of the repository` };
  }
  return {
    allowed: false,
    reason: `${who.login} is ${who.association === "NONE" ? "not associated with" : `${who.association.toLowerCase()} of`} the repository; /bench is open to owners, members and collaborators`,
  };
}

export interface MailPolicy {
  /** Maintainer addresses allowed to ask by mail (case-insensitive). */
  maintainers: readonly string[];
  /**
   * authserv-ids of our own receiving MTA (RFC 8601 §5: only headers it
   * added, and from which it stripped forgeries, can be believed). Empty:
   * nothing can be believed, so /bench by mail is off.
   */
  trustedAuthservIds: readonly string[];
}

export interface DkimResult {
  authservId: string;
  result: string;
  /** header.d (signing domain) when given. */
  domain: string | null;
  /** The domain of header.i (agent or user identifier) when given. */
  identityDomain: string | null;
}

/** Pure: the dkim results of Authentication-Results header values (RFC 8601). */
export function parseAuthenticationResults(values: readonly string[]): DkimResult[] {
  const out: DkimResult[] = [];
  for (const raw of values) {
    // Drop RFC 5322 comments and unfold.
    const v = raw.replace(/\r?\n[ \t]+/g, " ").replace(/\([^()]*\)/g, " ");
    const parts = v.split(";").map((p) => p.trim());
    // The authserv-id is the first token (an optional version number follows it).
    const authservId = (parts[0] ?? "").split(/\s+/)[0]?.toLowerCase() ?? "";
    for (const p of parts.slice(1)) {
      const m = /^dkim\s*=\s*([a-z]+)\b(.*)$/i.exec(p);
      if (!m) continue;
      const rest = m[2] ?? "";
      const d = /\bheader\.d\s*=\s*"?([A-Za-z0-9.-]+)"?/i.exec(rest);
      const i = /\bheader\.i\s*=\s*"?[^\s";@]*@([A-Za-z0-9.-]+)"?/i.exec(rest);
      out.push({
        authservId,
        result: m[1]!.toLowerCase(),
        domain: d ? d[1]!.toLowerCase().replace(/\.$/, "") : null,
        identityDomain: i ? i[1]!.toLowerCase().replace(/\.$/, "") : null,
      });
    }
  }
  return out;
}

/** The one address of a From header, or null when there is none or more than one. */
export function mailAddressOf(from: string): string | null {
  const angle = [...from.matchAll(/<([^<>\s]+@[^<>\s]+)>/g)];
  if (angle.length > 1) return null;
  if (angle.length === 1) return angle[0]![1]!.toLowerCase();
  const bare = [...from.matchAll(/([^\s<>",]+@[^\s<>",]+)/g)];
  return bare.length === 1 ? bare[0]![1]!.toLowerCase() : null;
}

/**
 * By mail: the From address must be a configured maintainer, and an
 * Authentication-Results header added by one of our trusted authserv-ids
 * must say dkim=pass with the signing domain (header.d, or header.i's
 * domain when d is absent) equal to the From domain — DMARC's strict
 * alignment (RFC 7489 §3.1.1). Headers of any other authserv-id are
 * ignored: anyone can write them.
 */
export function authorizeMail(
  mail: { from: string; authenticationResults: readonly string[] },
  policy: MailPolicy,
): Decision {
  if (policy.trustedAuthservIds.length === 0) {
    return { allowed: false, reason: "/bench by mail is off: mail.bench.trustedAuthservIds is empty" };
  }
  const addr = mailAddressOf(mail.from);
  if (!addr) return { allowed: false, reason: "the mail has no single usable From address" };
  if (!policy.maintainers.some((m) => m.toLowerCase() === addr)) {
    return { allowed: false, reason: `${addr} is not a configured maintainer` };
  }
  const ids = policy.trustedAuthservIds.map((x) => x.toLowerCase());
  const trusted = parseAuthenticationResults(mail.authenticationResults).filter((r) => ids.includes(r.authservId));
  if (trusted.length === 0) {
    return { allowed: false, reason: `${addr} is a maintainer, but no Authentication-Results of a trusted authserv-id (${ids.join(", ")}) vouch for the mail` };
  }
  const domain = addr.slice(addr.lastIndexOf("@") + 1);
  const aligned = (r: DkimResult) => (r.domain ?? r.identityDomain) === domain;
  const pass = trusted.find((r) => r.result === "pass" && aligned(r));
  if (pass) return { allowed: true, reason: `${addr} is a maintainer, dkim=pass for ${domain} (${pass.authservId})` };
  const seen = trusted.map((r) => `dkim=${r.result}${r.domain ?? r.identityDomain ? ` (${r.domain ?? r.identityDomain})` : ""}`).join(", ");
  return { allowed: false, reason: `${addr} is a maintainer but DKIM does not vouch for ${domain}: ${seen}` };
}
