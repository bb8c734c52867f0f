import type { BuildWarning } from "../../domain/results.ts";

const DIAG = /^(?:\.\/)?([^\s:][^:]*):(\d+):(?:\d+:)? (?:warning|error): (.*?)(?: \[(-W[^\]]+)\])?$/;

/**
 * Pure: gcc/clang diagnostics ("file:line:col: warning: msg [-Wflag]") of a
 * kernel build log, with gcc's curly quotes folded to ASCII.
 */
export function parseBuildWarnings(log: string): BuildWarning[] {
  const out: BuildWarning[] = [];
  for (const raw of log.split("\n")) {
    const line = raw.replace(/[\u2018\u2019]/g, "'").trimEnd();
    const m = DIAG.exec(line);
    if (m?.[1] && m[2] && m[3] !== undefined) out.push({ file: m[1], line: Number(m[2]), message: m[3], flag: m[4] ?? null });
  }
  return out;
}

const key = (w: BuildWarning) => `${w.file}\0${w.flag ?? ""}\0${w.message}`;

/**
 * Pure: warnings of the candidate build that the base build does not have.
 * Line numbers are left out of the comparison (a patch moves them); repeats
 * count, so a second copy of an old warning is new.
 */
export function newWarnings(base: readonly BuildWarning[], candidate: readonly BuildWarning[]): BuildWarning[] {
  const left = new Map<string, number>();
  for (const w of base) left.set(key(w), (left.get(key(w)) ?? 0) + 1);
  const out: BuildWarning[] = [];
  for (const w of candidate) {
    const n = left.get(key(w)) ?? 0;
    if (n > 0) left.set(key(w), n - 1);
    else out.push(w);
  }
  return out;
}
