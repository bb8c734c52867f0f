/**
 * How a one-shot command stops early: SIGINT, SIGTERM, or the reader of its
 * output going away (EPIPE on stdout or stderr, e.g. `| head -1`).
 *
 * The first of them aborts `signal`; the command then cleans up as on a
 * normal end (workers closed, a running stage handed back to the queue, a
 * private redis-server stopped) and returns. From then on nothing more is
 * written to a closed pipe. A second signal, or a cleanup that outlasts
 * `graceMs`, exits at once (130; 141 for a closed pipe, as a process killed
 * by SIGPIPE). Node ignores SIGPIPE itself, so a closed pipe shows up as
 * EPIPE write errors, handled here instead of crashing with a stack trace.
 */
export interface Interrupt {
  signal: AbortSignal;
  /** "SIGINT", "SIGTERM", "EPIPE", or null while running. */
  readonly reason: string | null;
  /** The exit code an interrupted command returns: 130, or 141 for a closed pipe. */
  readonly exitCode: number;
  dispose(): void;
}

let pipeClosed = false;
let interrupted = false;

/** True once a signal or a closed pipe interrupted a command: it exits as soon as it returns. */
export function wasInterrupted(): boolean {
  return interrupted;
}

/** True once stdout or stderr hit EPIPE: write nothing more to them. */
export function outputClosed(): boolean {
  return pipeClosed;
}

/**
 * Process-wide: an EPIPE on stdout/stderr marks the output closed instead of
 * throwing. Without a command watching (`watchInterrupts`), it exits quietly.
 */
export function quietOnClosedPipe(): void {
  const onError = (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE" && e.code !== "ERR_STREAM_DESTROYED") throw e;
    const first = !pipeClosed;
    pipeClosed = true;
    if (!first) return;
    if (watchers.size === 0) process.exit(process.exitCode ?? 141);
    for (const w of watchers) w("EPIPE");
  };
  process.stdout.on("error", onError);
  process.stderr.on("error", onError);
}

const watchers = new Set<(why: string) => void>();

export function watchInterrupts(opts: { graceMs?: number; onInterrupt?: (why: string) => void } = {}): Interrupt {
  const ac = new AbortController();
  let reason: string | null = null;
  const codeOf = (why: string | null) => (why === "EPIPE" ? 141 : 130);
  const trigger = (why: string) => {
    if (reason !== null) {
      if (why !== "EPIPE") process.exit(codeOf(reason));
      return;
    }
    reason = why;
    interrupted = true;
    opts.onInterrupt?.(why);
    ac.abort(new Error(`interrupted (${why})`));
    // Cleanup must not hold the terminal: stop regardless after the grace period.
    setTimeout(() => {
      if (!pipeClosed) process.stderr.write(`patchbench: cleanup did not finish within ${Math.round((opts.graceMs ?? 10_000) / 1000)} s; exiting\n`);
      process.exit(codeOf(reason));
    }, opts.graceMs ?? 10_000);
  };
  const onInt = () => trigger("SIGINT");
  const onTerm = () => trigger("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  watchers.add(trigger);
  if (pipeClosed) trigger("EPIPE");
  return {
    signal: ac.signal,
    get reason() {
      return reason;
    },
    get exitCode() {
      return codeOf(reason);
    },
    dispose() {
      // Signals stay handled until the process ends: a second one must still exit at once.
      watchers.delete(trigger);
      if (reason === null) {
        process.off("SIGINT", onInt);
        process.off("SIGTERM", onTerm);
      }
    },
  };
}

/** Resolves when `signal` aborts (never rejects): race it against a wait. */
export function whenAborted(signal: AbortSignal): Promise<"aborted"> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve("aborted");
    else signal.addEventListener("abort", () => resolve("aborted"), { once: true });
  });
}
