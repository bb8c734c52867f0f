/**
 * The few named errors of patchbench. Compare `code` across processes (a job
 * failure crosses Redis as a string), never `instanceof`.
 *  - config: unrecoverable until an operator edits something.
 *  - infra: the machine/network/service failed; retried with backoff.
 *  - input: bad input from outside (mail, comment, file); refused with a reason.
 */
export type ErrorCode = "config" | "infra" | "input" | "timeout";

export class PatchbenchError extends Error {
  readonly code: ErrorCode;
  /** What the user can do about it. */
  readonly hint: string | undefined;
  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "PatchbenchError";
    this.code = code;
    this.hint = options.hint;
  }
}

export function configError(message: string, hint?: string): PatchbenchError {
  return new PatchbenchError("config", message, hint === undefined ? {} : { hint });
}
export function infraError(message: string, hint?: string, cause?: unknown): PatchbenchError {
  return new PatchbenchError("infra", message, { ...(hint === undefined ? {} : { hint }), cause });
}
export function inputError(message: string, hint?: string): PatchbenchError {
  return new PatchbenchError("input", message, hint === undefined ? {} : { hint });
}

export function errorCode(err: unknown): ErrorCode | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return c === "config" || c === "infra" || c === "input" || c === "timeout" ? c : undefined;
}

/** One line for a human: message plus hint. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const hint = (err as { hint?: string }).hint;
    return hint ? `${err.message} (${hint})` : err.message;
  }
  return String(err);
}
