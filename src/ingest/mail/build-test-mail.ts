/**
 * Test helper: a small RFC 5322 mail from header pairs and a body, as bytes.
 * Used by the colocated tests only.
 */
export function buildTestMail(headers: [string, string][], body: string, eol = "\n"): Buffer {
  const head = headers.map(([k, v]) => `${k}: ${v}`).join(eol);
  return Buffer.from(`${head}${eol}${eol}${body.replace(/\n/g, eol)}`, "utf8");
}

export interface PatchMailSpec {
  id: string;
  subject: string;
  from?: string;
  date?: string;
  inReplyTo?: string;
  references?: string[];
  body?: string;
  extra?: [string, string][];
}

export const SAMPLE_DIFF = `diff --git a/f.txt b/f.txt
index 1111111..2222222 100644
--- a/f.txt
+++ b/f.txt
@@ -1 +1 @@
-old
+new
`;

/** A git-send-email style patch (or any mail) for grouping tests. */
export function buildPatchMail(spec: PatchMailSpec): Buffer {
  const headers: [string, string][] = [
    ["From", spec.from ?? "Dev Eloper <dev@example.com>"],
    ["Subject", spec.subject],
    ["Date", spec.date ?? "Tue, 10 Jun 2025 11:19:31 +0200"],
    ["Message-ID", `<${spec.id}>`],
  ];
  if (spec.inReplyTo !== undefined) headers.push(["In-Reply-To", `<${spec.inReplyTo}>`]);
  if (spec.references !== undefined && spec.references.length > 0)
    headers.push(["References", spec.references.map((r) => `<${r}>`).join(" ")]);
  headers.push(...(spec.extra ?? []));
  const body = spec.body ?? `Commit message.\n\nSigned-off-by: Dev Eloper <dev@example.com>\n---\n f.txt | 2 +-\n\n${SAMPLE_DIFF}-- \n2.39.5\n`;
  return buildTestMail(headers, body);
}
