import { pino, type Logger } from "pino";
import { prettyLogLine } from "./pretty-log-line.ts";

export type { Logger };

/** Paths redacted from every log line: secrets never reach logs. */
const REDACT = [
  "password",
  "token",
  "secret",
  "privateKey",
  "*.password",
  "*.token",
  "*.secret",
  "*.privateKey",
  "smtp.pass",
  "headers.authorization",
];

/**
 * Error fields that carry whole payloads: @octokit/webhooks puts the webhook
 * (payload and all) on `error.event`, Octokit request errors carry the request
 * body and response data. A log line names them, never holds them.
 */
function scrubError(o: unknown, depth = 0): unknown {
  if (!o || typeof o !== "object" || depth > 4) return o;
  if (Array.isArray(o)) return o.map((x) => scrubError(x, depth + 1));
  const out: Record<string, unknown> = { ...(o as Record<string, unknown>) };
  if ("event" in out) {
    const ev = out.event as { id?: unknown; name?: unknown } | null;
    out.event = ev && typeof ev === "object" ? { id: ev.id, name: ev.name } : "[omitted]";
  }
  if ("payload" in out) out.payload = "[omitted]";
  if (out.request && typeof out.request === "object") out.request = { ...(out.request as object), body: undefined };
  if (out.response && typeof out.response === "object") out.response = { ...(out.response as object), data: undefined };
  for (const k of ["errors", "aggregateErrors", "cause"]) if (k in out) out[k] = scrubError(out[k], depth + 1);
  return out;
}

const serializers = { err: (e: unknown) => scrubError(pino.stdSerializers.err(e as Error)) };

export type LogFormat = "json" | "pretty";

/**
 * The log format: `PATCHBENCH_LOG_FORMAT` (flag `--log-format`) when set,
 * else pretty lines for a person at a terminal and JSON lines for everything
 * else (files, journald, pipes, CI).
 */
export function logFormat(env: NodeJS.ProcessEnv = process.env, isTTY = process.stderr.isTTY === true): LogFormat {
  const f = env.PATCHBENCH_LOG_FORMAT;
  if (f === "json" || f === "pretty") return f;
  return isTTY ? "pretty" : "json";
}

/**
 * Pretty lines on stderr. Each line first clears the terminal line, so a
 * progress spinner drawn there (src/cli/progress.ts) is not mixed into it;
 * the spinner redraws on its next frame.
 */
function prettyStderr(): { write(chunk: string): boolean } {
  const tty = process.stderr.isTTY === true;
  return {
    write(chunk: string) {
      for (const line of chunk.split("\n")) {
        if (line) process.stderr.write(`${tty ? "\r\x1b[K" : ""}${prettyLogLine(line, tty)}\n`);
      }
      return true;
    },
  };
}

/**
 * A field the logger's context already carries with the same value (a job's
 * child logger and `{ flowId }` at the call) is written once, not twice.
 */
function dropBoundFields(this: Logger, args: Parameters<Logger["info"]>, method: (...a: unknown[]) => void): void {
  const [first, ...rest] = args as unknown[];
  if (first !== null && typeof first === "object" && !(first instanceof Error)) {
    const bound = this.bindings();
    const own = Object.entries(first as Record<string, unknown>).filter(([k, v]) => !(k in bound && bound[k] === v));
    method.apply(this, [Object.fromEntries(own), ...rest]);
    return;
  }
  method.apply(this, args as unknown[]);
}

export function createLogger(options: { level?: string; name?: string; destination?: NodeJS.WritableStream; format?: LogFormat } = {}): Logger {
  const opts = {
    name: options.name ?? "patchbench",
    level: options.level ?? process.env.PATCHBENCH_LOG_LEVEL ?? "info",
    redact: { paths: REDACT, censor: "[redacted]" },
    serializers,
    hooks: { logMethod: dropBoundFields },
  };
  if (options.destination) return pino(opts, options.destination);
  return (options.format ?? logFormat()) === "pretty" ? pino(opts, prettyStderr()) : pino(opts, pino.destination(2));
}

/** A logger that drops everything (tests, --quiet). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
