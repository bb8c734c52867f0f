import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { git } from "../../src/lib/git.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { applySeries } from "../../src/runner/apply/apply-series.ts";
import { onePatchApplyJob } from "../helpers/one-patch-apply-job.ts";
import type { AttackRow } from "./format-attack-table.ts";
import { sandboxUnavailable, withHostileHost } from "./hostile-host.ts";
import { hostileProbeScript } from "./hostile-probe.ts";
import { probeAttack } from "./probe-attack.ts";
import { commonProbeRows, skippedRows } from "./probe-verdicts.ts";

const WHO = "tree checkpatch.pl";
const WRITES: [string, string] = [`${WHO} writes outside the worktree`, "read-only fs; host files untouched"];

/**
 * A tree whose scripts/checkpatch.pl is the hostile probe, run by the apply
 * stage (applySeries) in the runner's real sandbox. The probe reports what
 * it got as checkpatch warnings; the host side (files, the listener) is
 * checked as well.
 */
export async function runSandboxAttacks(): Promise<AttackRow[]> {
  const why = sandboxUnavailable();
  if (why) return skippedRows(WHO, WRITES, why);
  return withHostileHost(async (h) => {
    const up = join(h.dir, "up");
    mkdirSync(join(up, "scripts"), { recursive: true });
    writeFileSync(join(up, "scripts", "checkpatch.pl"), hostileProbeScript(h.targets(["scripts/pwned"]), "checkpatch"));
    writeFileSync(join(up, "a.c"), "int a;\n");
    await git(["init", "-q", "-b", "master", up]);
    await git(["add", "-A"], { repo: up });
    await git(["commit", "-q", "-m", "base"], { repo: up });
    const job = await onePatchApplyJob(up, join(h.dir, "p"), "flow-sec-sandbox");
    const r = await applySeries(job, { git, log: silentLogger(), workDir: h.config.paths.workDir, runner: "security", sandbox: h.sandbox, fetchIntervalMs: 0 });
    const check = r.data.checks?.find((c) => c.id === "checkpatch");
    const seen = new Map<string, string[]>();
    for (const f of check?.findings ?? []) seen.set(f.code ?? "", [...(seen.get(f.code ?? "") ?? []), f.message]);
    const [first, ...rest] = await commonProbeRows(WHO, seen, h, `apply stage: ${r.summary}`);
    const writes = await probeAttack(WRITES[0], WRITES[1], () => {
      assert.ok(seen.has("UID"), "the probe did not run");
      // /tmp and the data dir are the sandbox's own empty tmpfs: a write there lands in memory
      // that dies with the sandbox. The host must not change, and / must be read-only.
      for (const p of [join(h.dataDir, "pwned"), h.hostFile, "/etc/pb-sec-pwned", join(up, "scripts", "pwned")]) assert.equal(existsSync(p), false, `${p} on the host`);
      const denied = seen.get("DENIED_WRITE") ?? [];
      assert.ok(denied.some((m) => m.startsWith("/etc/pb-sec-pwned: Read-only file system")), "a write to /etc was not refused");
      assert.ok(denied.some((m) => m.startsWith("scripts/pwned: Read-only file system")), "the worktree was writable during the checks");
      const tmpfs = (seen.get("WROTE") ?? []).map((m) => m.replace(h.dir, "…"));
      return `refused: ${denied.map((m) => m.replace(h.dir, "…")).join("; ")}; into its own tmpfs only: ${tmpfs.join(", ") || "none"}; host unchanged`;
    });
    return [first!, writes, ...rest];
  });
}
