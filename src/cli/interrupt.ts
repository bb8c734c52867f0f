/**
 * How a command stops early: SIGINT, SIGTERM, or the reader of its output
 * going away (EPIPE on stdout or stderr, e.g. `| head -1`). All three take
 * one path: `armInterrupts` (called first thing in main.ts) catches them for
 * the whole process and hands each to the commands watching
 * (`watchInterrupts`), which clean up as on a normal end (workers closed, a
 * running stage handed back to the queue, a private redis-server stopped)
 * and return. From then on nothing more is written to a closed pipe. With no
 * command watching (still loading, or nothing that needs cleaning up), the
 * process ends at once: 130, or 141 for a closed pipe, as a process killed by
 * SIGPIPE. A second signal, or a cleanup that outlasts `graceMs`, also exits
 * at once. Node ignores SIGPIPE itself, so a closed pipe shows up as EPIPE
 * write errors, handled here instead of crashing with a stack trace.
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
let armed = false;
const watchers = new Set<(why: string) => void>();

/** True once a signal or a closed pipe interrupted a command: it exits as soon as it returns. */
export function wasInterrupted(): boolean {
  return interrupted;
}

/** True once stdout or stderr hit EPIPE: write nothing more to them. */
export function outputClosed(): boolean {
  return pipeClosed;
}

const exitCodeOf = (why: string | null): number => (why === "EPIPE" ? 141 : 130);

function dispatch(why: string): void {
  if (watchers.size > 0) {
    for (const w of [...watchers]) w(why);
    return;
  }
  // Nobody holds anything to hand back yet (or any more): end now, as documented.
  if (why === "EPIPE") process.exit(process.exitCode ?? 141);
  if (!pipeClosed) process.stderr.write(`patchbench: interrupted (${why})\n`);
  process.exit(130);
}

/**
 * Process-wide and idempotent: SIGINT, SIGTERM and EPIPE on stdout/stderr go
 * to the watching commands from here on. Called before any command is even
 * loaded, so a signal during the (slow) import of one is not Node's silent
 * default death (143) that skips every exit handler.
 */
export function armInterrupts(): void {
  if (armed) return;
  armed = true;
  const onError = (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE" && e.code !== "ERR_STREAM_DESTROYED") throw e;
    if (pipeClosed) return;
    pipeClosed = true;
    dispatch("EPIPE");
  };
  process.stdout.on("error", onError);
  process.stderr.on("error", onError);
  process.on("SIGINT", () => dispatch("SIGINT"));
  process.on("SIGTERM", () => dispatch("SIGTERM"));
}

export interface WatchOptions {
  /** Cleanup deadline after the first interrupt; null: none (a service closes its running stage however long it takes). Default 10 s. */
  graceMs?: number | null;
  onInterrupt?: (why: string) => void;
  /** A second signal: the process exits right after this. */
  onSecondSignal?: (why: string) => void;
}

export function watchInterrupts(opts: WatchOptions = {}): Interrupt {
  armInterrupts();
  const ac = new AbortController();
  let reason: string | null = null;
  const graceMs = opts.graceMs === undefined ? 10_000 : opts.graceMs;
  const trigger = (why: string) => {
    if (reason !== null) {
      if (why === "EPIPE") return;
      opts.onSecondSignal?.(why);
      process.exit(exitCodeOf(reason));
    }
    reason = why;
    interrupted = true;
    opts.onInterrupt?.(why);
    ac.abort(new Error(`interrupted (${why})`));
    if (graceMs === null) return;
    // Cleanup must not hold the terminal: stop regardless after the grace period.
    setTimeout(() => {
      if (!pipeClosed) process.stderr.write(`patchbench: cleanup did not finish within ${Math.round(graceMs / 1000)} s; exiting\n`);
      process.exit(exitCodeOf(reason));
    }, graceMs).unref();
  };
  watchers.add(trigger);
  if (pipeClosed) trigger("EPIPE");
  return {
    signal: ac.signal,
    get reason() {
      return reason;
    },
    get exitCode() {
      return exitCodeOf(reason);
    },
    dispose() {
      // Once interrupted, a second signal must still exit at once: the watcher stays.
      if (reason === null) watchers.delete(trigger);
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
