import { copyStore } from "../../store/copy-store.ts";
import { describeStore, openStore } from "../../store/open-store.ts";
import { type GlobalFlags, loadConfigFromFlags } from "../context.ts";

/** `patchbench store migrate`: bring the configured store (store.url, else the SQLite file) up to date. */
export async function storeMigrateCommand(flags: GlobalFlags): Promise<number> {
  const config = loadConfigFromFlags(flags);
  const db = await openStore(config.paths.store);
  await db.destroy();
  process.stdout.write(`store ${describeStore(config.paths.store)}: schema up to date\n`);
  return 0;
}

/**
 * `patchbench store copy --from A --to B` (a SQLite file or a postgres:// URL each): every row
 * of A into B, migrating B first; run again after an interruption, nothing is copied twice.
 * Stop the service on A first: rows written during the copy may be missed.
 */
export async function storeCopyCommand(opts: { from: string; to: string }): Promise<number> {
  const from = await openStore(opts.from);
  try {
    const to = await openStore(opts.to);
    try {
      const copied = await copyStore(from, to);
      for (const [table, n] of Object.entries(copied)) process.stdout.write(`${table.padEnd(12)} ${n} row(s) copied\n`);
      process.stdout.write(`copied ${describeStore(opts.from)} into ${describeStore(opts.to)}\n`);
      return 0;
    } finally {
      await to.destroy();
    }
  } finally {
    await from.destroy();
  }
}
