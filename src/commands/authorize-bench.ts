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
   * authserv-ids whose Authentication-Results are trusted (RFC 8601 §5: only
   * headers added by one's own border MTA count). Empty: any.
   */
  trustedAuthservIds: readonly string[];
}

export interface DkimResult {
  authservId: string;
  result: string;
  /** header.d (signing domain) when given. */
  domain: string | null;
}

/** Pure: the dkim results of Authentication-Results header values (RFC 8601). */
export function parseAuthenticationResults(values: readonly string[]): DkimResult[] {
  const out: DkimResult[] = [];
  for (const raw of values) {
    // Drop RFC 5322 comments and unfold.
    const v = raw.replace(/\r?\n[ \t]+/g, " ").replace(/\([^()]*\)/g, " ");
    const parts = v.split(";").map((p) => p.trim());
    const authservId = (parts[0] ?? "").split(/\s+/)[0]?.toLowerCase() ?? "";
    for (const p of parts.slice(1)) {
      const m = /^dkim\s*=\s*([a-z]+)\b(.*)$/i.exec(p);
      if (!m) continue;
      const d = /\bheader\.d\s*=\s*"?([A-Za-z0-9.-]+)"?/i.exec(m[2] ?? "");
      out.push({ authservId, result: m[1]!.toLowerCase(), domain: d ? d[1]!.toLowerCase() : null });
    }
  }
  return out;
}

function addressOf(from: string): string | null {
  const m = /<([^<>\s]+@[^<>\s]+)>/.exec(from) ?? /([^\s<>"]+@[^\s<>"]+)/.exec(from);
  return m ? m[1]!.toLowerCase() : null;
}

/**
 * By mail: the From address must be a configured maintainer; when the mail
 * carries (trusted) Authentication-Results, a dkim=pass for the From
 * domain is required too (a forged From of a maintainer fails there).
 */
export function authorizeMail(
  mail: { from: string; authenticationResults: readonly string[] },
  policy: MailPolicy,
): Decision {
  const addr = addressOf(mail.from);
  if (!addr) return { allowed: false, reason: "the mail has no usable From address" };
  if (!policy.maintainers.some((m) => m.toLowerCase() === addr)) {
    return { allowed: false, reason: `${addr} is not a configured maintainer` };
  }
  const trusted = parseAuthenticationResults(mail.authenticationResults).filter(
    (r) => policy.trustedAuthservIds.length === 0 || policy.trustedAuthservIds.map((x) => x.toLowerCase()).includes(r.authservId),
  );
  if (trusted.length === 0) {
    return { allowed: true, reason: `${addr} is a maintainer (no Authentication-Results to check)` };
  }
  const domain = addr.slice(addr.lastIndexOf("@") + 1);
  const pass = trusted.find((r) => r.result === "pass" && r.domain !== null && (r.domain === domain || domain.endsWith(`.${r.domain}`)));
  if (pass) return { allowed: true, reason: `${addr} is a maintainer, DKIM pass for ${pass.domain}` };
  const seen = trusted.map((r) => `dkim=${r.result}${r.domain ? ` (${r.domain})` : ""}`).join(", ");
  return { allowed: false, reason: `${addr} is a maintainer but DKIM does not vouch for the From domain: ${seen}` };
}
