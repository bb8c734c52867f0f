/**
 * Performance claims as authors write them in cover letters, commit
 * messages and READMEs: `TCP_RR (loopback) 1 B 111.9k -> 1113.8k tps (9.96x)`,
 * continuation lines that only give a size (`64 B 111.7k -> 1073.3k tps
 * (9.61x)`), labelled lines (`without busy-poll: 105.8k -> 235.1k tps`),
 * chains (`1 KB: 100.4k → 233.9k → 704.9k`) and markdown tables whose first
 * numeric column is the baseline (`| 1 B | 110.2k | 267.0k (2.4x) | ... |`).
 */
export type ClaimTopology = "loopback" | "container";

export interface Claim {
  /** netperf test name (TCP_RR, TCP_STREAM, ...) or "unknown". */
  test: string;
  topology: ClaimTopology | null;
  /** Message size in bytes (KB = 1024, as netperf's -r/-m 1K). */
  size: number | null;
  variantFrom: string | null;
  variantTo: string | null;
  from: number;
  to: number;
  unit: string | null;
  /** The stated ratio when the author wrote one (`(9.96x)`), else to / from. */
  ratio: number;
  ratioSource: "stated" | "computed";
  sourceLine: string;
}

interface Context {
  test: string | null;
  topology: ClaimTopology | null;
  size: number | null;
  variantFrom: string | null;
  variantTo: string | null;
  /** Units are remembered per test, so a Mbit/s table never lends its unit to a TCP_RR line. */
  unitByTest: Map<string, string>;
  /** Variant names of the latest table's numeric columns (for value chains of the same length). */
  lastColumns: string[];
  /** Prose lines of the current paragraph ("X vs Y" often wraps onto the next line). */
  paragraph: string[];
  /** In prose, the first test/topology/size named in a paragraph wins ("TCP_RR ..., full tables ... and TCP_STREAM"). */
  setInParagraph: Set<"test" | "topology" | "size">;
}

const VALUE = String.raw`(\d+(?:\.\d+)?)([kKM]?)`;
const ARROW = String.raw`\s*(?:->|→|=>)\s*`;
const CHAIN_RE = new RegExp(`(?<![\\w.])${VALUE}${ARROW}${VALUE}(?:${ARROW}${VALUE})?(?![\\w.])`);
const RATIO_RE = /\(\s*(?:\*\*)?~?(\d+(?:\.\d+)?)\s*x(?:\*\*)?\s*\)/;
const TEST_RE = /\b((?:TCP|UDP|SCTP)_(?:RR|CRR|STREAM|MAERTS|SENDFILE))\b/;
const BARE_RR_RE = /\bRR\b/;
const TOPOLOGY_RE = /\b(loopback|127\.0\.0\.1|container)/i;
const SIZE_RE = /(?<![\w.])(\d+(?:\.\d+)?)\s?(B|KB|KiB|K|MB|MiB)\b/g;
const UNIT_AFTER_RE = /^\s*(tps|trans(?:actions)?\/s(?:ec)?|Mbit\/s|Mbps|Gbit\/s|Gbps|ops\/s(?:ec)?|req\/s|rps)\b/i;
const UNIT_ANYWHERE_RE = /\b(tps|trans(?:actions)?\/s(?:ec)?|Mbit\/s|Mbps|Gbit\/s|Gbps|ops\/s(?:ec)?|req\/s)/i;
const LABEL_RE = /^([A-Za-z][\w +/-]*):\s*$/;

/** `111.9k` → 111900, `1.2M` → 1200000. */
export function parseQuantity(digits: string, suffix = ""): number {
  const n = Number(digits);
  if (suffix === "k" || suffix === "K") return n * 1e3;
  if (suffix === "M") return n * 1e6;
  return n;
}

/** `1 B`, `64 B`, `1 KB`, `16KB`, `16K`, `1 MB` → bytes (binary multiples); null if not a size. */
export function parseSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s?(B|KB|KiB|K|MB|MiB)\s*$/.exec(text);
  if (!m) return null;
  return sizeBytes(m[1] ?? "", m[2] ?? "");
}

function sizeBytes(digits: string, unit: string): number {
  const n = Number(digits);
  if (unit === "B") return n;
  if (unit === "MB" || unit === "MiB") return n * 1024 * 1024;
  return n * 1024;
}

function normalizeUnit(unit: string): string {
  const u = unit.toLowerCase();
  if (u === "tps" || u.startsWith("trans")) return "tps";
  if (u === "mbit/s" || u === "mbps") return "Mbit/s";
  if (u === "gbit/s" || u === "gbps") return "Gbit/s";
  if (u.startsWith("ops")) return "ops/s";
  return "req/s";
}

function findTest(text: string): string | null {
  const m = TEST_RE.exec(text);
  if (m) return m[1] ?? null;
  return BARE_RR_RE.test(text) ? "TCP_RR" : null;
}

function findTopology(text: string): ClaimTopology | null {
  const m = TOPOLOGY_RE.exec(text);
  if (!m) return null;
  return (m[1] ?? "").toLowerCase() === "container" ? "container" : "loopback";
}

function findSize(text: string): number | null {
  let last: number | null = null;
  for (const m of text.matchAll(SIZE_RE)) last = sizeBytes(m[1] ?? "", m[2] ?? "");
  return last;
}

/** `... baseline TCP vs splice + busy-poll:` → ["baseline TCP", "splice + busy-poll"]. */
function findVersus(text: string): [string, string] | null {
  const m = /\s+vs\.?\s+/i.exec(text);
  if (!m) return null;
  const left = text.slice(0, m.index).split(/[,;:(]/).at(-1)?.trim() ?? "";
  const right = text.slice(m.index + m[0].length).split(/[,;:()]/)[0]?.trim() ?? "";
  if (left === "" || right === "") return null;
  return [left, right];
}

function stripMarkdown(s: string): string {
  return s.replace(/\*\*|`/g, "").trim();
}

export function parseClaims(text: string): Claim[] {
  const lines = text.split(/\r?\n/);
  const claims: Claim[] = [];
  const ctx: Context = {
    test: null,
    topology: null,
    size: null,
    variantFrom: null,
    variantTo: null,
    unitByTest: new Map(),
    lastColumns: [],
    paragraph: [],
    setInParagraph: new Set(),
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    if (/^\s*\|/.test(line)) {
      let end = i;
      while (end < lines.length && /^\s*\|/.test(lines[end] ?? "")) end++;
      claims.push(...parseTable(lines.slice(i, end), paragraphBefore(lines, i), ctx));
      i = end - 1;
      ctx.paragraph = [];
      ctx.setInParagraph.clear();
      continue;
    }
    if (line.trim() === "") {
      ctx.paragraph = [];
      ctx.setInParagraph.clear();
      continue;
    }
    claims.push(...parseLine(line, ctx));
  }
  return claims;
}

function paragraphBefore(lines: readonly string[], index: number): string {
  const para: string[] = [];
  for (let j = index - 1; j >= 0; j--) {
    const l = lines[j] ?? "";
    if (l.trim() === "") {
      if (para.length > 0) break;
      continue;
    }
    para.unshift(l.trim());
  }
  return para.join(" ");
}

function parseLine(line: string, ctx: Context): Claim[] {
  const chain = CHAIN_RE.exec(line);
  const prefix = chain ? line.slice(0, chain.index) : line;
  const ownTest = findTest(prefix);
  const ownTopology = findTopology(prefix);
  const ownSize = findSize(prefix);
  const unitMention = UNIT_ANYWHERE_RE.exec(line);

  if (!chain) {
    ctx.paragraph.push(line.trim());
    const versus = findVersus(ctx.paragraph.join(" "));
    const first = (key: "test" | "topology" | "size", found: boolean): boolean => {
      if (!found || ctx.setInParagraph.has(key)) return false;
      ctx.setInParagraph.add(key);
      return true;
    };
    if (first("test", ownTest !== null)) ctx.test = ownTest;
    if (first("topology", ownTopology !== null)) ctx.topology = ownTopology;
    if (first("size", ownSize !== null)) ctx.size = ownSize;
    if (versus) [ctx.variantFrom, ctx.variantTo] = versus;
    if (ownTest && unitMention) ctx.unitByTest.set(ownTest, normalizeUnit(unitMention[1] ?? ""));
    return [];
  }

  const values: { n: number; suffixed: boolean }[] = [];
  for (const k of [1, 3, 5]) {
    const digits = chain[k];
    if (digits !== undefined) values.push({ n: parseQuantity(digits, chain[k + 1] ?? ""), suffixed: (chain[k + 1] ?? "") !== "" });
  }
  const after = line.slice(chain.index + chain[0].length);
  const unitMatch = UNIT_AFTER_RE.exec(after);
  const ratioMatch = RATIO_RE.exec(after);
  // A bare "1 -> 2" (refcounts, version numbers) is not a performance claim.
  if (!unitMatch && !ratioMatch && !ownTest && !values.some((v) => v.suffixed)) return [];

  const test = ownTest ?? ctx.test ?? "unknown";
  const topology = ownTopology ?? ctx.topology;
  const size = ownSize ?? ctx.size;
  const unit = unitMatch ? normalizeUnit(unitMatch[1] ?? "") : (ctx.unitByTest.get(test) ?? null);
  const label = LABEL_RE.exec(prefix.trim())?.[1]?.trim() ?? null;
  if (ownTest) ctx.test = ownTest;
  if (ownTopology) ctx.topology = ownTopology;
  if (ownSize !== null) ctx.size = ownSize;
  if (ownTest && unit) ctx.unitByTest.set(ownTest, unit);

  const first = values[0] as { n: number };
  const claims: Claim[] = [];
  const names =
    values.length > 2 && ctx.lastColumns.length === values.length
      ? ctx.lastColumns
      : [ctx.variantFrom, ...values.slice(1).map((_, k) => (k === 0 ? ctx.variantTo : null))];
  for (let k = 1; k < values.length; k++) {
    const to = (values[k] as { n: number }).n;
    const stated = values.length === 2 && ratioMatch ? Number(ratioMatch[1]) : null;
    const baseTo = names[k] ?? null;
    claims.push({
      test,
      topology,
      size,
      variantFrom: names[0] ?? null,
      variantTo: label ? [baseTo, label].filter(Boolean).join(" ") : baseTo,
      from: first.n,
      to,
      unit,
      ratio: stated ?? to / first.n,
      ratioSource: stated !== null ? "stated" : "computed",
      sourceLine: line.trim(),
    });
  }
  return claims;
}

const CELL_RE = /^(?:\*\*)?\s*(\d+(?:\.\d+)?)([kKM]?)\s*(?:\*\*)?\s*(?:\(\s*(?:\*\*)?~?(\d+(?:\.\d+)?)\s*x(?:\*\*)?\s*\))?$/;

function cells(row: string): string[] {
  return row.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
}

function parseTable(rows: readonly string[], heading: string, ctx: Context): Claim[] {
  const [header, separator, ...body] = rows;
  if (header === undefined || separator === undefined || !/^\s*\|[\s:|-]+\|?\s*$/.test(separator)) return [];
  const names = cells(header).map(stripMarkdown);
  const parsedRows = body.map((r) => ({ raw: r, cells: cells(r).map((c) => CELL_RE.exec(stripMarkdown(c) === "" ? "" : c)) }));
  const numericCols = names
    .map((_, j) => j)
    .filter((j) => j > 0 && parsedRows.length > 0 && parsedRows.filter((r) => r.cells[j]).length * 2 > parsedRows.length);
  if (numericCols.length < 2) return [];

  const bold = /\*\*(.+?)\*\*/.exec(heading)?.[1] ?? heading;
  const test = findTest(bold) ?? "unknown";
  const headingUnit = UNIT_ANYWHERE_RE.exec(bold);
  const unit = headingUnit ? normalizeUnit(headingUnit[1] ?? "") : (ctx.unitByTest.get(test) ?? null);
  const topology = findTopology(numericCols.map((j) => names[j]).join(" ")) ?? findTopology(bold);
  const variant = (j: number): string =>
    (names[j] ?? "").replace(/\b(loopback|container)\b/gi, "").replace(/\s+/g, " ").trim() || (names[j] ?? "");
  const base = numericCols[0] as number;
  ctx.lastColumns = numericCols.map(variant);
  if (test !== "unknown" && unit) ctx.unitByTest.set(test, unit);

  const claims: Claim[] = [];
  for (const row of parsedRows) {
    const baseCell = row.cells[base];
    if (!baseCell) continue;
    const from = parseQuantity(baseCell[1] ?? "", baseCell[2] ?? "");
    const rowLabel = stripMarkdown(cells(row.raw)[0] ?? "");
    for (const j of numericCols.slice(1)) {
      const cell = row.cells[j];
      if (!cell) continue;
      const to = parseQuantity(cell[1] ?? "", cell[2] ?? "");
      const stated = cell[3] !== undefined ? Number(cell[3]) : null;
      claims.push({
        test,
        topology,
        size: parseSize(rowLabel),
        variantFrom: variant(base),
        variantTo: variant(j),
        from,
        to,
        unit,
        ratio: stated ?? to / from,
        ratioSource: stated !== null ? "stated" : "computed",
        sourceLine: row.raw.trim(),
      });
    }
  }
  return claims;
}
