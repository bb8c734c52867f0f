import type { CheckFinding } from "../../domain/results.ts";
import { splitMail } from "../mail-parts.ts";

export interface FixesTag {
  sha: string;
  subject: string;
  line: number;
}

/**
 * Pure: every "Fixes:" line of the commit message, checked against the form
 * submitting-patches.rst asks for: `Fixes: <12+ hex chars> ("<subject>")`.
 */
export function parseFixesTags(text: string): { tags: FixesTag[]; findings: Omit<CheckFinding, "patch">[] } {
  const mail = splitMail(text);
  const tags: FixesTag[] = [];
  const findings: Omit<CheckFinding, "patch">[] = [];
  mail.message.forEach((l, i) => {
    if (!/^\s*fixes:/i.test(l)) return;
    const line = mail.messageLineNumbers[i] ?? null;
    const m = /^Fixes: ([0-9a-f]+) \("(.+)"\)\s*$/.exec(l);
    if (!m?.[1] || !m[2]) {
      const why = /^Fixes: [0-9a-fA-F]+/.test(l) ? 'the subject must follow as ("subject")' : "expected Fixes: <sha> (\"subject\")";
      findings.push({ severity: "error", code: "FIXES_FORMAT", file: null, line, message: `malformed tag "${l.trim()}": ${why}` });
      return;
    }
    if (m[1].length < 12) {
      findings.push({ severity: "error", code: "FIXES_SHA_SHORT", file: null, line, message: `Fixes: sha ${m[1]} has ${m[1].length} characters; use at least 12` });
    }
    tags.push({ sha: m[1], subject: m[2], line: line ?? 0 });
  });
  return { tags, findings };
}
