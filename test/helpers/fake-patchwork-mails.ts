/**
 * Real mbox files (patchwork's own test mails) cut into the series
 * patchwork would make of them: one series per subject version, patches
 * by their n/m counter, 0/m the cover. Only what the stand-in needs to
 * answer the API; patchbench's own parser is not used here, so the two
 * cannot agree by sharing a bug.
 */
export interface FakeMail {
  raw: string;
  headers: Map<string, string>;
  msgid: string;
  subject: string;
  /** Subject without its [PATCH …] prefix. */
  name: string;
  prefixes: string[];
  from: { name: string; email: string };
  version: number;
  counter: number | null;
  total: number;
  content: string;
  diff: string | null;
}

/** Split an mbox on its "From " separator lines (mboxrd/mboxo: a body line never starts with it). */
export function splitMbox(text: string): string[] {
  return text
    .split(/^(?=From \S+ .*\d{4}\s*$)/m)
    .filter((m) => m.trim() !== "");
}

function headersOf(raw: string): { headers: Map<string, string>; body: string } {
  const withoutFrom = raw.replace(/^From [^\n]*\n/, "");
  const cut = withoutFrom.search(/\r?\n\r?\n/);
  const head = cut < 0 ? withoutFrom : withoutFrom.slice(0, cut);
  const body = cut < 0 ? "" : withoutFrom.slice(cut).replace(/^\r?\n\r?\n/, "");
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const m = /^([!-9;-~]+):\s*(.*)$/.exec(line);
    if (m && !headers.has(m[1]!.toLowerCase())) headers.set(m[1]!.toLowerCase(), m[2]!.trim());
  }
  return { headers, body };
}

export function parseFakeMail(raw: string): FakeMail {
  const { headers, body } = headersOf(raw);
  const subject = headers.get("subject") ?? "(no subject)";
  const prefixes: string[] = [];
  let name = subject.replace(/^(re|fwd?):\s*/i, "");
  for (let m = /^\s*\[([^\]]*)\]\s*/.exec(name); m; m = /^\s*\[([^\]]*)\]\s*/.exec(name)) {
    prefixes.push(...m[1]!.split(/[\s,]+/).filter(Boolean));
    name = name.slice(m[0].length);
  }
  const counter = prefixes.map((p) => /^(\d+)\/(\d+)$/.exec(p)).find(Boolean);
  const version = Number(prefixes.map((p) => /^v(\d+)$/i.exec(p)?.[1]).find(Boolean) ?? 1);
  const fromHeader = headers.get("from") ?? "unknown <unknown@invalid>";
  const fm = /^\s*"?([^"<]*?)"?\s*<([^>]+)>/.exec(fromHeader);
  const diffAt = body.search(/^(diff --git |--- \S)/m);
  return {
    raw,
    headers,
    msgid: (headers.get("message-id") ?? "").replace(/^<|>$/g, ""),
    subject,
    name: name.trim() || subject,
    prefixes,
    from: { name: fm?.[1]?.trim() || (fm?.[2] ?? fromHeader), email: fm?.[2] ?? fromHeader },
    version,
    counter: counter ? Number(counter[1]) : null,
    total: counter ? Number(counter[2]) : 1,
    content: (diffAt < 0 ? body : body.slice(0, diffAt)) || "\n",
    diff: diffAt < 0 ? null : body.slice(diffAt),
  };
}

/** The mails of an mbox grouped as patchwork groups them: by version, cover first. */
export function seriesOfMbox(text: string): FakeMail[][] {
  const byVersion = new Map<number, FakeMail[]>();
  for (const raw of splitMbox(text)) {
    const m = parseFakeMail(raw);
    if (!m.msgid) continue;
    const list = byVersion.get(m.version) ?? [];
    list.push(m);
    byVersion.set(m.version, list);
  }
  return [...byVersion.values()].map((l) => l.sort((a, b) => (a.counter ?? 1) - (b.counter ?? 1)));
}
