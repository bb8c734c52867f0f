import type { Logger } from "../lib/logger.ts";
import { watchInterrupts } from "./interrupt.ts";

/**
 * Resolves with the reason on the first SIGINT, SIGTERM or closed output pipe
 * (the same path as every command, src/cli/interrupt.ts); a second signal
 * exits at once. No deadline: a running stage is handed back however long
 * that takes. Call it before starting anything, so a signal during start-up
 * still ends in a clean stop.
 */
export function waitForShutdown(log: Logger): Promise<string> {
  return new Promise((resolve) => {
    watchInterrupts({
      graceMs: null,
      onInterrupt: (why) => {
        log.info({ signal: why }, "shutting down: closing workers (running stages go back to the queue)");
        resolve(why);
      },
      onSecondSignal: (why) => log.warn({ signal: why }, "second signal: exiting now"),
    });
  });
}
