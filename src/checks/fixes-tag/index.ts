import type { CheckFinding } from "../../domain/results.ts";
import type { Check } from "../check.ts";
import { parseFixesTags } from "./parse-output.ts";

/**
 * Fixes: tags in the right form; on a tree with history the commit must
 * exist and its subject match (a tree imported from a tarball cannot tell).
 */
export const fixesTagCheck: Check = {
  id: "fixes-tag",
  describe: 'Fixes: tags use a 12+ character sha and the quoted subject ("...")',
  skipReason: (ctx) => (ctx.patches.some((p) => /^\s*fixes:/im.test(p.raw.toString("latin1"))) ? null : "no patch has a Fixes: tag"),
  async run(ctx) {
    const findings: CheckFinding[] = [];
    let tags = 0;
    for (const p of ctx.patches) {
      const parsed = parseFixesTags(p.raw.toString("latin1"));
      tags += parsed.tags.length + parsed.findings.length;
      for (const f of parsed.findings) findings.push({ ...f, patch: p.index });
      if (!ctx.treeHasHistory) continue;
      for (const t of parsed.tags) {
        const r = await ctx.git(["log", "-1", "--format=%s", "--end-of-options", `${t.sha}^{commit}`], { repo: ctx.treeDir, okCodes: "any" });
        if (r.code !== 0) {
          findings.push({ severity: "warning", code: "FIXES_UNKNOWN", file: null, line: t.line, patch: p.index, message: `Fixes: ${t.sha} is not a commit of this tree` });
        } else if (r.stdout.trim() !== t.subject) {
          findings.push({ severity: "warning", code: "FIXES_SUBJECT", file: null, line: t.line, patch: p.index, message: `Fixes: ${t.sha} has subject "${r.stdout.trim()}", the tag says "${t.subject}"` });
        }
      }
    }
    const errors = findings.filter((f) => f.severity === "error").length;
    return {
      id: "fixes-tag",
      status: errors > 0 ? "fail" : findings.length > 0 ? "warn" : "pass",
      summary: findings.length > 0 ? `${findings.length} problem(s) in ${tags} Fixes: tag(s)` : `${tags} Fixes: tag(s) well formed`,
      findings,
    };
  },
};
