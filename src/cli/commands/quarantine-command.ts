import { existsSync } from "node:fs";
import { isPostgresUrl, openStore } from "../../store/open-store.ts";
import { listQuarantine } from "../../store/quarantine-repository.ts";
import { type GlobalFlags, loadConfigFromFlags } from "../context.ts";

/** `patchbench quarantine list`. */
export async function quarantineListCommand(flags: GlobalFlags, opts: { json?: boolean }): Promise<number> {
  const config = loadConfigFromFlags(flags);
  const path = config.paths.store;
  // A listing only reads: opening would create an empty store wherever it was typed.
  if (path !== ":memory:" && !isPostgresUrl(path) && !existsSync(path)) {
    if (opts.json) {
      process.stderr.write(`patchbench: no store at ${path}\n`);
      process.stdout.write("[]\n");
    } else process.stdout.write(`no store at ${path} (nothing was ingested with this data folder): 0 quarantined\n`);
    return 0;
  }
  const db = await openStore(path);
  try {
    const rows = await listQuarantine(db);
    if (opts.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else {
      for (const r of rows) process.stdout.write(`${r.created_at}  ${r.message_id ?? "(no Message-ID)"}  ${r.reason}  [${r.source}]\n`);
      process.stdout.write(`${rows.length} quarantined\n`);
    }
    return 0;
  } finally {
    await db.destroy();
  }
}
