/**
 * Progress for long steps: a spinner line on a TTY, plain timestamped lines
 * otherwise (CI logs, pipes). Always on stderr so stdout stays the result.
 */
export interface Progress {
  step(message: string): void;
  done(message?: string): void;
}

const FRAMES = ["|", "/", "-", "\\"];

export function createProgress(stream: NodeJS.WriteStream = process.stderr, quiet = false): Progress {
  const started = Date.now();
  const stamp = () => `[${String(Math.round((Date.now() - started) / 1000)).padStart(4)}s]`;
  if (quiet) return { step() {}, done() {} };
  if (!stream.isTTY) {
    return {
      step: (m) => stream.write(`${stamp()} ${m}\n`),
      done: (m) => {
        if (m) stream.write(`${stamp()} ${m}\n`);
      },
    };
  }
  let current = "";
  let frame = 0;
  const timer = setInterval(() => {
    frame = (frame + 1) % FRAMES.length;
    stream.write(`\r\x1b[K${FRAMES[frame]} ${stamp()} ${current}`);
  }, 200);
  timer.unref();
  return {
    step(m) {
      if (current) stream.write(`\r\x1b[K  ${stamp()} ${current}\n`);
      current = m;
    },
    done(m) {
      clearInterval(timer);
      stream.write(`\r\x1b[K  ${stamp()} ${current}\n`);
      if (m) stream.write(`${m}\n`);
    },
  };
}
