import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../lib/logger.ts";
import { type Db, describeStore, openStore, storeWriteLocked } from "../store/open-store.ts";
import { isStoreUnavailable } from "./wait-for-store.ts";

/** Between two tries to open a store that is locked or away. */
const RETRY_MS = 1000;

export interface BackgroundStore {
  /** The open store; null until it is open and up to date. */
  current(): Db | null;
  /** Settles when the store is open, or with the error that will not pass by waiting (e.g. a schema newer than this code). */
  opened: Promise<Db>;
  /** Stops trying; closes the store if it was opened. */
  close(): Promise<void>;
}

/**
 * Opens the store without holding up the caller: a server can listen (and answer 503) while
 * another process migrates the store (its write lock held) or PostgreSQL is not up yet.
 * A lock or an unreachable store is waited out; any other failure settles `opened` with it.
 */
export function openStoreInBackground(location: string, log: Logger): BackgroundStore {
  let db: Db | null = null;
  let stopped = false;
  const opened = (async () => {
    let said = false;
    while (!stopped) {
      const waitFor = storeWriteLocked(location) ? "its write lock is held (a migration in progress)" : null;
      if (waitFor === null) {
        try {
          db = await openStore(location);
          if (stopped) await db.destroy();
          else if (said) log.info({ store: describeStore(location) }, "store open");
          return db;
        } catch (e) {
          if (!isStoreUnavailable(e) && !/cannot lock store/.test((e as Error).message)) throw e;
        }
      }
      if (!said) log.warn({ store: describeStore(location), why: waitFor ?? "it cannot be reached or locked yet" }, "waiting for the store; pages answer 503 meanwhile");
      said = true;
      await sleep(RETRY_MS);
    }
    throw new Error("stopped before the store was open");
  })();
  // Whoever awaits `opened` sees its failure; this only keeps it from being an unhandled rejection.
  opened.catch(() => {});
  return {
    current: () => (stopped ? null : db),
    opened,
    async close() {
      stopped = true;
      const d = db;
      db = null;
      await d?.destroy();
    },
  };
}
