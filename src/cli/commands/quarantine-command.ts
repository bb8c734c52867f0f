import { openStore } from "../../store/open-store.ts";
import { listQuarantine } from "../../store/quarantine-repository.ts";
import { type GlobalFlags, loadConfigFromFlags } from "../context.ts";

/** `patchbench quarantine list`. */
export async function quarantineListCommand(flags: GlobalFlags, opts: { json?: boolean }): Promise<number> {
  const config = loadConfigFromFlags(flags);
  const db = await openStore(config.paths.storePath);
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
