/**
 * Trailer lines (`Acked-by: Name <mail>`) from mail bodies, the way b4 collects
 * follow-up trailers: only unquoted lines at the start of a line, not in a
 * signature, `-by` trailers must name an address.
 */

export interface Trailer {
  /** Canonical capitalisation, e.g. "Reviewed-by". */
  name: string;
  value: string;
  /** `${name}: ${value}` */
  line: string;
}

const KNOWN: Record<string, string> = {
  "acked-by": "Acked-by",
  "reviewed-by": "Reviewed-by",
  "tested-by": "Tested-by",
  "reported-by": "Reported-by",
  "signed-off-by": "Signed-off-by",
  "suggested-by": "Suggested-by",
  "co-developed-by": "Co-developed-by",
  "reported-and-tested-by": "Reported-and-tested-by",
  "requested-by": "Requested-by",
  "debugged-by": "Debugged-by",
  "originally-by": "Originally-by",
  "nacked-by": "Nacked-by",
  fixes: "Fixes",
  link: "Link",
  closes: "Closes",
};

const TRAILER = /^([A-Za-z][A-Za-z0-9-]{1,40}):[ \t]+(\S.*?)\s*$/;

function canonicalName(name: string): string | null {
  const lower = name.toLowerCase();
  const known = KNOWN[lower];
  if (known !== undefined) return known;
  if (lower.endsWith("-by")) {
    return lower
      .split("-")
      .map((w, i) => (i === 0 ? w.charAt(0).toUpperCase() + w.slice(1) : w))
      .join("-");
  }
  return null;
}

/** `Name <a@b<mailto:a@b>>` (HTML mail junk) → `Name <a@b>`; drop `# comments` after links. */
function cleanValue(name: string, value: string): string {
  let v = value.replace(/<mailto:[^>]*>/gi, "");
  v = v.replace(/\s+/g, " ").trim();
  if (name.endsWith("-by")) v = v.replace(/>.*$/, ">");
  return v;
}

export interface ExtractTrailersOptions {
  /** Skip `>` quoted lines (replies). Default true. */
  skipQuoted?: boolean;
  /** Stop at the first `---` line (the end of a commit message). Default false. */
  stopAtDiffSeparator?: boolean;
}

export function extractTrailers(body: string, options: ExtractTrailersOptions = {}): Trailer[] {
  const skipQuoted = options.skipQuoted ?? true;
  const out: Trailer[] = [];
  const seen = new Set<string>();
  for (const rawLine of body.split("\n")) {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    if (line === "-- ") break; // signature
    if (options.stopAtDiffSeparator && line === "---") break;
    if (skipQuoted && line.startsWith(">")) continue;
    const m = TRAILER.exec(line);
    if (!m) continue;
    const name = canonicalName(m[1] ?? "");
    if (name === null) continue;
    const value = cleanValue(name, m[2] ?? "");
    if (name.endsWith("-by") && !value.includes("@")) continue;
    if (value === "") continue;
    const full = `${name}: ${value}`;
    if (seen.has(full)) continue;
    seen.add(full);
    out.push({ name, value, line: full });
  }
  return out;
}

export interface SeriesMarkers {
  baseCommit: string | null;
  changeId: string | null;
}

/** `base-commit:` and `change-id:` lines that git format-patch and b4 write. */
export function extractSeriesMarkers(body: string): SeriesMarkers {
  // Most bodies have neither: skip the multiline scans then.
  const base = body.includes("base-commit:") ? /^base-commit:[ \t]*([0-9a-f]{7,64})[ \t]*\r?$/m.exec(body) : null;
  const change = body.includes("change-id:") ? /^change-id:[ \t]*(\S+)[ \t]*\r?$/m.exec(body) : null;
  return { baseCommit: base?.[1] ?? null, changeId: change?.[1] ?? null };
}

/** The `/bench …` command lines of a reply (unquoted lines only). */
export function extractCommandLines(body: string): string[] {
  const out: string[] = [];
  for (const rawLine of body.split("\n")) {
    const line = rawLine.replace(/\r$/, "");
    if (line === "-- ") break;
    if (/^\/bench(\s|$)/.test(line)) out.push(line.trimEnd());
  }
  return out;
}
