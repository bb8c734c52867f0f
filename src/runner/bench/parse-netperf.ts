/**
 * Pure parsers for netperf output (see ../shared/fixtures/netperf/README.md).
 *
 * Formats handled:
 *  - omni `-k` (KEY=value lines, any order; banner line unless `-P 0`)
 *  - omni `-o` (CSV: a header row of human names then a value row; `-P 0` drops
 *    the header, so the caller passes the requested keys to map positions)
 *  - classic TCP_RR/TCP_CRR/UDP_RR and TCP_STREAM tables, with or without the
 *    `-P 0` banner/headers and with or without the `-c -C` CPU columns.
 *
 * netperf's error convention: exit 255 with the message on stdout (stderr empty).
 */

export type NetperfFormat = "keyval" | "csv" | "classic-rr" | "classic-stream" | "empty" | "unknown";

export interface NetperfOutput {
  format: NetperfFormat;
  /** The MIGRATED ... banner, when printed. */
  banner: string | null;
  /** Every value found, under omni selector names (classic columns are mapped to them). */
  values: Record<string, string>;
  /** THROUGHPUT as a number; NaN when missing or not numeric. */
  throughput: number;
  /** Non-fatal notes, e.g. netperf's "Desired confidence was not achieved". */
  warnings: string[];
}

/** Human column names printed by `-o` → omni selector names. */
const CSV_HEADER_KEYS: Record<string, string> = {
  Throughput: "THROUGHPUT",
  "Throughput Units": "THROUGHPUT_UNITS",
  "Mean Latency Microseconds": "MEAN_LATENCY",
  "Minimum Latency Microseconds": "MIN_LATENCY",
  "Maximum Latency Microseconds": "MAX_LATENCY",
  "50th Percentile Latency Microseconds": "P50_LATENCY",
  "90th Percentile Latency Microseconds": "P90_LATENCY",
  "99th Percentile Latency Microseconds": "P99_LATENCY",
  "Stddev Latency Microseconds": "STDDEV_LATENCY",
  "Local CPU Util %": "LOCAL_CPU_UTIL",
  "Remote CPU Util %": "REMOTE_CPU_UTIL",
  "Local Service Demand": "LOCAL_SD",
  "Remote Service Demand": "REMOTE_SD",
  "Elapsed Time (sec)": "ELAPSED_TIME",
  "Request Size Bytes": "REQUEST_SIZE",
  "Response Size Bytes": "RESPONSE_SIZE",
};

const KEYVAL = /^([A-Z][A-Z0-9_]*)=(.*)$/;
const NUMERIC = /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

function isNumericRow(tokens: readonly string[]): boolean {
  return tokens.length > 0 && tokens.every((t) => NUMERIC.test(t));
}

function toThroughput(values: Record<string, string>): number {
  const raw = values.THROUGHPUT;
  if (raw === undefined || !NUMERIC.test(raw.trim())) return Number.NaN;
  return Number(raw.trim());
}

function splitCsv(line: string): string[] {
  return line.split(",").map((s) => s.trim());
}

/** Omni selector names for the columns of a classic data row (socket sizes are the initial ones). */
function classicColumns(kind: "rr" | "stream", n: number): string[] | null {
  const cpu = ["LOCAL_CPU_UTIL", "REMOTE_CPU_UTIL", "LOCAL_SD", "REMOTE_SD"];
  if (kind === "rr") {
    const base = ["LSS_SIZE", "LSR_SIZE", "REQUEST_SIZE", "RESPONSE_SIZE", "ELAPSED_TIME", "THROUGHPUT"];
    if (n === 6) return base;
    if (n === 10) return [...base, ...cpu];
    return null;
  }
  const base = ["RSR_SIZE", "LSS_SIZE", "LOCAL_SEND_SIZE", "ELAPSED_TIME", "THROUGHPUT"];
  if (n === 5) return base;
  if (n === 9) return [...base, ...cpu];
  return null;
}

export interface ParseNetperfOptions {
  /** The `-o`/`-k` selectors requested, used to map a header-less `-P 0 -o` CSV row. */
  keys?: readonly string[];
}

/** Parse netperf stdout in any of the supported formats. Never throws. */
export function parseNetperfOutput(stdout: string, options: ParseNetperfOptions = {}): NetperfOutput {
  const lines = stdout.split(/\r?\n/);
  const warnings: string[] = [];
  let banner: string | null = null;
  const body: string[] = [];
  for (const line of lines) {
    if (line.startsWith("MIGRATED ") || /^\w[\w ]* TEST from /.test(line)) {
      banner ??= line.trim();
      continue;
    }
    if (line.startsWith("!!!")) {
      const text = line.replace(/^!!!\s*/, "").trim();
      if (text && text !== "WARNING") warnings.push(text);
      continue;
    }
    body.push(line);
  }
  const nonEmpty = body.map((l) => l.trim()).filter((l) => l !== "");
  const out = (format: NetperfFormat, values: Record<string, string>): NetperfOutput => ({
    format,
    banner,
    values,
    throughput: toThroughput(values),
    warnings,
  });

  if (nonEmpty.length === 0) return out("empty", {});

  // omni -k: KEY=value lines, in any order.
  const kv = nonEmpty.map((l) => KEYVAL.exec(l));
  if (kv.some((m) => m !== null)) {
    const values: Record<string, string> = {};
    for (const m of kv) if (m) values[m[1]!] = m[2]!.trim();
    return out("keyval", values);
  }

  // omni -o: CSV header + values, or values only (-P 0) mapped by requested keys.
  const first = nonEmpty[0]!;
  if (first.includes(",")) {
    const headerCells = splitCsv(first);
    const isHeader = headerCells.some((c) => c in CSV_HEADER_KEYS);
    if (isHeader && nonEmpty[1] !== undefined) {
      const row = splitCsv(nonEmpty[1]);
      const values: Record<string, string> = {};
      headerCells.forEach((h, i) => {
        const key = CSV_HEADER_KEYS[h] ?? h.toUpperCase().replace(/[^A-Z0-9]+/g, "_");
        const v = row[i];
        if (v !== undefined) values[key] = v;
      });
      return out("csv", values);
    }
    if (!isHeader && options.keys && options.keys.length > 0) {
      const row = headerCells;
      const values: Record<string, string> = {};
      options.keys.forEach((k, i) => {
        const v = row[i];
        if (v !== undefined) values[k] = v;
      });
      return out("csv", values);
    }
  }

  // Classic tables: the first all-numeric row is the data row. The units come
  // from the header when it was printed; otherwise from the row's shape.
  const headerText = body.join("\n");
  const rows = nonEmpty.map((l) => l.split(/\s+/));
  const dataIdx = rows.findIndex((r) => r.length >= 5 && isNumericRow(r));
  if (dataIdx >= 0) {
    const row = rows[dataIdx]!;
    const next = rows[dataIdx + 1];
    const looksRr =
      /Trans\.|REQUEST\/RESPONSE/.test(headerText + (banner ?? "")) ||
      (next !== undefined && next.length === 2 && isNumericRow(next));
    const looksStream = /Throughput|STREAM/.test(headerText + (banner ?? ""));
    const kind: "rr" | "stream" | null = looksRr ? "rr" : looksStream ? "stream" : row.length % 2 === 0 ? "rr" : "stream";
    const cols = classicColumns(kind, row.length);
    if (cols) {
      const values: Record<string, string> = {};
      cols.forEach((c, i) => {
        values[c] = row[i]!;
      });
      if (kind === "rr") {
        values.THROUGHPUT_UNITS = "Trans/s";
        if (next !== undefined && next.length === 2 && isNumericRow(next)) {
          values.RSS_SIZE = next[0]!;
          values.RSR_SIZE = next[1]!;
        }
      } else {
        const unit = /10\^9bits/.test(headerText) ? "10^9bits/s" : /10\^3bits/.test(headerText) ? "10^3bits/s" : "10^6bits/s";
        values.THROUGHPUT_UNITS = unit;
      }
      return out(kind === "rr" ? "classic-rr" : "classic-stream", values);
    }
  }
  return out("unknown", {});
}

/** The first meaningful line netperf printed about an error (stdout first: that is where netperf writes it). */
export function netperfErrorMessage(stdout: string, stderr: string): string | null {
  for (const text of [stdout, stderr]) {
    const line = text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .find((l) => l !== "" && !l.startsWith("MIGRATED ") && !KEYVAL.test(l));
    if (line) return line;
  }
  return null;
}

export interface NetperfRunInput {
  code: number | null;
  signal?: string | null;
  timedOut?: boolean;
  stdout: string;
  stderr: string;
  /** Selectors requested with -k / -o; every one must be present. */
  requestedKeys: readonly string[];
}

export interface NetperfRunResult {
  ok: boolean;
  /** Why the run fails the quality gates; absent when ok. */
  problem?: string;
  output: NetperfOutput;
}

/**
 * Quality gates of one run: exit status 0, every requested key present and
 * non-empty, THROUGHPUT finite and > 0. A failure carries netperf's own words.
 */
export function checkNetperfRun(input: NetperfRunInput): NetperfRunResult {
  const output = parseNetperfOutput(input.stdout, { keys: input.requestedKeys });
  const fail = (problem: string): NetperfRunResult => ({ ok: false, problem, output });
  if (input.timedOut) return fail("netperf timed out");
  if (input.code !== 0) {
    const msg = netperfErrorMessage(input.stdout, input.stderr);
    const how = input.code === null ? `was killed by ${input.signal ?? "a signal"}` : `exited ${input.code}`;
    return fail(msg ? `netperf ${how}: ${msg}` : `netperf ${how} with no message`);
  }
  const missing = input.requestedKeys.filter((k) => (output.values[k] ?? "").trim() === "");
  if (missing.length > 0) {
    const extra = netperfErrorMessage(input.stdout, input.stderr);
    const note = output.format === "keyval" || extra === null ? "" : ` (netperf said: ${extra})`;
    return fail(`netperf output lacks ${missing.join(", ")}${note}`);
  }
  const t = output.throughput;
  if (!Number.isFinite(t)) return fail(`THROUGHPUT is not a number: ${JSON.stringify(output.values.THROUGHPUT ?? null)}`);
  if (t <= 0) return fail(`THROUGHPUT is ${output.values.THROUGHPUT}, not > 0`);
  return { ok: true, output };
}
