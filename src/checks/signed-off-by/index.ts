import type { CheckFinding } from "../../domain/results.ts";
import type { Check } from "../check.ts";
import { checkSignoffs } from "./parse-output.ts";

export const signedOffByCheck: Check = {
  id: "signed-off-by",
  describe: "the author and the sender of each patch have a Signed-off-by line",
  skipReason: () => null,
  async run(ctx) {
    const findings: CheckFinding[] = [];
    for (const p of ctx.patches) {
      for (const f of checkSignoffs(p.raw.toString("latin1")).findings) findings.push({ ...f, patch: p.index });
    }
    const bad = new Set(findings.map((f) => f.patch));
    return {
      id: "signed-off-by",
      status: findings.length > 0 ? "fail" : "pass",
      summary: findings.length > 0 ? `missing sign-off in patch ${[...bad].join(", ")}` : `${signedOff(ctx.patches.length)} by author and sender`,
      findings,
    };
  },
};

const signedOff = (n: number): string => (n === 1 ? "the patch is signed off" : `all ${n} patches signed off`);
