import type { CheckFinding, FindingSeverity } from "../../domain/results.ts";

export interface CheckpatchOutput {
  findings: Omit<CheckFinding, "patch">[];
  /** From the "total: E errors, W warnings, C checks, N lines checked" line. */
  totals: { errors: number; warnings: number; checks: number; lines: number } | null;
}

const HEAD = /^(ERROR|WARNING|CHECK)(?::([A-Z0-9_]+))?: (.*)$/;
const FILE = /^#\d+: FILE: (.+):(\d+):$/;

/**
 * Pure: checkpatch.pl's default (non-terse) report, run with --show-types.
 * Each finding is a "SEVERITY[:TYPE]: message" line, then "#N: FILE: f:l:"
 * when it points into the diff (commit-message findings have only "#N:").
 */
export function parseCheckpatchOutput(output: string): CheckpatchOutput {
  const findings: Omit<CheckFinding, "patch">[] = [];
  let totals: CheckpatchOutput["totals"] = null;
  const lines = output.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const t = /^total: (\d+) errors, (\d+) warnings, (?:(\d+) checks, )?(\d+) lines checked$/.exec(line);
    if (t) {
      totals = { errors: Number(t[1]), warnings: Number(t[2]), checks: Number(t[3] ?? 0), lines: Number(t[4]) };
      continue;
    }
    const h = HEAD.exec(line);
    if (!h) continue;
    const severity: FindingSeverity = h[1] === "ERROR" ? "error" : h[1] === "WARNING" ? "warning" : "check";
    const next = lines[i + 1] ?? "";
    const f = FILE.exec(next);
    findings.push({
      severity,
      code: h[2] ?? null,
      file: f?.[1] ?? null,
      line: f?.[2] ? Number(f[2]) : null,
      message: h[3]!.trim(),
    });
  }
  return { findings, totals };
}
