import { pino, type Logger } from "pino";

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

export function createLogger(options: { level?: string; name?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const opts = {
    name: options.name ?? "patchbench",
    level: options.level ?? process.env.PATCHBENCH_LOG_LEVEL ?? "info",
    redact: { paths: REDACT, censor: "[redacted]" },
  };
  return options.destination ? pino(opts, options.destination) : pino(opts, pino.destination(2));
}

/** A logger that drops everything (tests, --quiet). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
