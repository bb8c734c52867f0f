import type { listSamples } from "../store/result-repository.ts";

const COLUMNS = ["cell", "variant", "round", "run", "slot", "throughput", "ok", "problem", "started_at", "ended_at", "superseded"] as const;

/** A raw sample as the store's repository returns it: the columns the CSV carries. */
export type SampleRow = Pick<Awaited<ReturnType<typeof listSamples>>[number], (typeof COLUMNS)[number]>;

/**
 * RFC 4180 field; text that a spreadsheet would run as a formula (= + - @ at the start)
 * gets a leading apostrophe (OWASP "CSV injection"), numbers stay numbers.
 */
function field(v: string | number | null): string {
  if (v === null) return "";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "";
  const s = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n']/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The raw runs of a flow in run order, one line each, for a spreadsheet or R. */
export function renderSamplesCsv(rows: readonly SampleRow[]): string {
  const lines = [COLUMNS.join(",")];
  for (const r of rows) lines.push(COLUMNS.map((c) => field(r[c])).join(","));
  return `${lines.join("\r\n")}\r\n`;
}
