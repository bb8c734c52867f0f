/**
 * One pino JSON line → one line for a person at a terminal:
 * `12:03:04 WARN  scheduled mirror fetch failed  repo=/x stderr="…"`.
 * pino-pretty is not a dependency; this covers what a terminal needs (time,
 * level, message, the other fields once each, an error's message and first
 * stack frame). Pure.
 */
const LEVELS: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };
/** Fields every line carries that a terminal reader does not need. */
const OMIT = new Set(["level", "time", "msg", "pid", "hostname", "name", "v"]);

function fieldValue(v: unknown): string {
  if (typeof v === "string") return /^[\w./:@+-]+$/.test(v) ? v : JSON.stringify(v.length > 200 ? `${v.slice(0, 200)}…` : v);
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

export function prettyLogLine(line: string, color = false): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.replace(/\n$/, "");
  }
  if (o === null || typeof o !== "object") return line.replace(/\n$/, "");
  const t = typeof o.time === "number" ? new Date(o.time) : new Date();
  const time = `${String(t.getHours()).padStart(2, "0")}:${String(t.getMinutes()).padStart(2, "0")}:${String(t.getSeconds()).padStart(2, "0")}`;
  const levelNum = typeof o.level === "number" ? o.level : 30;
  const level = (LEVELS[levelNum] ?? String(o.level)).padEnd(5);
  const paint = (s: string) => (!color ? s : levelNum >= 50 ? `\x1b[31m${s}\x1b[0m` : levelNum >= 40 ? `\x1b[33m${s}\x1b[0m` : levelNum <= 20 ? `\x1b[2m${s}\x1b[0m` : s);
  const fields: string[] = [];
  let stack = "";
  for (const [k, v] of Object.entries(o)) {
    if (OMIT.has(k) || v === undefined) continue;
    if ((k === "err" || k === "error") && v && typeof v === "object") {
      const e = v as { message?: unknown; stack?: unknown };
      fields.push(`${k}=${fieldValue(e.message ?? v)}`);
      const frame = typeof e.stack === "string" ? e.stack.split("\n").find((l) => /^\s+at /.test(l)) : undefined;
      if (frame) stack = `\n    ${frame.trim()}`;
      continue;
    }
    fields.push(`${k}=${fieldValue(v)}`);
  }
  const msg = typeof o.msg === "string" ? o.msg : "";
  return `${time} ${paint(level)} ${msg}${fields.length > 0 ? `  ${fields.join(" ")}` : ""}${stack}`;
}
