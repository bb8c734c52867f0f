import type { Logger } from "../lib/logger.ts";

/** Resolve on the first SIGINT/SIGTERM; a second one exits at once. */
export function waitForShutdown(log: Logger): Promise<string> {
  return new Promise((resolve) => {
    let seen = false;
    const on = (sig: string) => {
      if (seen) {
        log.warn({ signal: sig }, "second signal: exiting now");
        process.exit(130);
      }
      seen = true;
      log.info({ signal: sig }, "shutting down: closing workers (running stages go back to the queue)");
      resolve(sig);
    };
    process.on("SIGINT", () => on("SIGINT"));
    process.on("SIGTERM", () => on("SIGTERM"));
  });
}
