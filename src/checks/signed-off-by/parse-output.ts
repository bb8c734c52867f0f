import type { CheckFinding } from "../../domain/results.ts";
import { emailOf, splitMail } from "../mail-parts.ts";

/**
 * Pure: the Signed-off-by lines of one patch mail, and what is missing —
 * the author must sign off (DCO), and so must the person who sent it when
 * that is someone else (Documentation/process/submitting-patches.rst).
 */
export function checkSignoffs(text: string): { signers: string[]; findings: Omit<CheckFinding, "patch">[] } {
  const mail = splitMail(text);
  const signers: string[] = [];
  for (const l of mail.message) {
    const m = /^\s*Signed-off-by:\s*(.+)$/i.exec(l);
    const e = m?.[1] ? emailOf(m[1]) : null;
    if (e) signers.push(e);
  }
  const findings: Omit<CheckFinding, "patch">[] = [];
  const missing = (who: string, email: string | null) => {
    if (email === null) {
      findings.push({ severity: "error", code: "NO_ADDRESS", file: null, line: null, message: `no ${who} address found in the mail` });
    } else if (!signers.includes(email)) {
      findings.push({ severity: "error", code: `MISSING_${who.toUpperCase()}_SIGNOFF`, file: null, line: null, message: `no Signed-off-by from the ${who} <${email}>` });
    }
  };
  missing("author", mail.author);
  if (mail.sender !== mail.author) missing("sender", mail.sender);
  return { signers, findings };
}
