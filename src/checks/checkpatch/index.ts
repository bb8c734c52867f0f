import { existsSync } from "node:fs";
import { join } from "node:path";
import type { CheckFinding } from "../../domain/results.ts";
import { combineStatus, type Status } from "../../domain/status.ts";
import type { Check } from "../check.ts";
import { parseCheckpatchOutput } from "./parse-output.ts";

/**
 * The tree's own scripts/checkpatch.pl on each patch mail (--no-tree: it
 * reads the mail, not the tree). On a tree without history commit ids cannot
 * be looked up, so UNKNOWN_COMMIT_ID would be a false positive (FACTS.md).
 */
export const checkpatchCheck: Check = {
  id: "checkpatch",
  describe: "scripts/checkpatch.pl --no-tree --show-types on every patch",
  skipReason: (ctx) => (existsSync(join(ctx.treeDir, "scripts", "checkpatch.pl")) ? null : "the tree has no scripts/checkpatch.pl"),
  async run(ctx) {
    const findings: CheckFinding[] = [];
    const statuses: Status[] = [];
    const problems: string[] = [];
    for (const p of ctx.patches) {
      const argv = ["perl", join(ctx.treeDir, "scripts", "checkpatch.pl"), "--no-tree", "--show-types", "--no-color"];
      if (!ctx.treeHasHistory) argv.push("--ignore", "UNKNOWN_COMMIT_ID");
      argv.push("-");
      // The tree's own script: patch-controlled (a series can change it, a base-commit can pick it).
      const r = await ctx.runTreeCode(argv, {
        input: p.raw,
        okCodes: "any",
        timeoutMs: 120_000,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
      const parsed = parseCheckpatchOutput(r.stdout);
      if (parsed.totals === null) {
        problems.push(`patch ${p.index}: checkpatch printed no totals (exit ${r.code}): ${(r.stderr || r.stdout).trim().split("\n").slice(-1)[0] ?? ""}`);
        statuses.push("error");
        continue;
      }
      for (const f of parsed.findings) findings.push({ ...f, patch: p.index });
      statuses.push(parsed.totals.errors > 0 ? "fail" : parsed.totals.warnings > 0 ? "warn" : "pass");
    }
    const count = (s: string) => findings.filter((f) => f.severity === s).length;
    const status = combineStatus(statuses);
    const summary =
      problems.length > 0
        ? problems.join("; ")
        : `${count("error")} errors, ${count("warning")} warnings, ${count("check")} checks in ${ctx.patches.length} patch(es)`;
    return { id: "checkpatch", status, summary, findings };
  },
};
