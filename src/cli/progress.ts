import { outputClosed } from "./interrupt.ts";

/**
 * Progress for long steps: a spinner line on a TTY, plain timestamped lines
 * otherwise (CI logs, pipes). Always on stderr so stdout stays the result;
 * nothing once the output's reader went away (src/cli/interrupt.ts).
 */
export interface Progress {
  /** A new step: the previous one stays on screen as a finished line. */
  step(message: string): void;
  /**
   * The current step's state changed: with `changed` (a new stage or state) the previous message
   * stays on screen as a line, as a step's does; otherwise (time left, ...) it is redrawn on a TTY,
   * and a plain line at most once a minute.
   */
  update(message: string, changed?: boolean): void;
  done(message?: string): void;
}

const FRAMES = ["|", "/", "-", "\\"];

export function createProgress(stream: NodeJS.WriteStream = process.stderr, quiet = false): Progress {
  const started = Date.now();
  const stamp = () => `[${String(Math.round((Date.now() - started) / 1000)).padStart(4)}s]`;
  const write = (s: string) => {
    if (!outputClosed()) stream.write(s);
  };
  if (quiet) return { step() {}, update() {}, done() {} };
  if (!stream.isTTY) {
    let lastLine = 0;
    const line = (m: string) => {
      lastLine = Date.now();
      write(`${stamp()} ${m}\n`);
    };
    return {
      step: line,
      update: (m, changed = false) => {
        if (changed || Date.now() - lastLine >= 60_000) line(m);
      },
      done: (m) => {
        if (m) line(m);
      },
    };
  }
  let current = "";
  let frame = 0;
  const timer = setInterval(() => {
    frame = (frame + 1) % FRAMES.length;
    write(`\r\x1b[K${FRAMES[frame]} ${stamp()} ${current}`);
  }, 200);
  timer.unref();
  return {
    step(m) {
      if (current) write(`\r\x1b[K  ${stamp()} ${current}\n`);
      current = m;
    },
    update(m, changed = false) {
      // Without this a step's own line ("flow queued: … tree … from …") was drawn over by the first stage state.
      if (changed && current) write(`\r\x1b[K  ${stamp()} ${current}\n`);
      current = m;
    },
    done(m) {
      clearInterval(timer);
      if (current) write(`\r\x1b[K  ${stamp()} ${current}\n`);
      current = "";
      if (m) write(`${m}\n`);
    },
  };
}
