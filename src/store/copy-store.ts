import { PostgresAdapter, sql } from "kysely";
import type { Db } from "./open-store.ts";
import type { Database } from "./schema.ts";

/** Every table (a new one fails to compile until it is listed), with the columns that identify a row. */
const TABLES: Record<keyof Database, { key: readonly string[]; serial?: string }> = {
  series: { key: ["id"] },
  raw_mails: { key: ["message_id"] },
  flows: { key: ["id"] },
  runs: { key: ["id"] },
  samples: { key: ["id"], serial: "id" },
  verdicts: { key: ["flow_id", "cell"] },
  deliveries: { key: ["id"] },
  quarantine: { key: ["id"], serial: "id" },
  cursors: { key: ["source", "key"] },
  github_targets: { key: ["flow_id"] },
  pull_states: { key: ["pr_key"] },
  patchwork_patches: { key: ["instance", "project", "message_id"] },
  series_mails: { key: ["message_id", "series_id"] },
  series_lists: { key: ["list_id", "series_id"] },
  patchwork_check_states: { key: ["instance", "project", "patch_id", "context"] },
};

const BATCH = 500;

/**
 * Copy every row of one store into another (SQLite → PostgreSQL when an
 * installation moves; any direction works). Rows are read in key order in
 * batches and inserted with "on conflict do nothing", so a copy that was
 * interrupted can simply be run again; on PostgreSQL the sequences behind
 * numbered keys are moved past the copied ids. Returns rows copied per table.
 */
export async function copyStore(from: Db, to: Db): Promise<Record<string, number>> {
  const copied: Record<string, number> = {};
  for (const [name, spec] of Object.entries(TABLES)) {
    const t = { name, ...spec };
    let n = 0;
    for (let offset = 0; ; offset += BATCH) {
      // biome-ignore lint/suspicious/noExplicitAny: one loop over every table's rows
      const rows = (await (from as any).selectFrom(t.name).selectAll().orderBy(t.key).limit(BATCH).offset(offset).execute()) as Record<string, unknown>[];
      if (rows.length === 0) break;
      // biome-ignore lint/suspicious/noExplicitAny: as above
      const r = await (to as any)
        .insertInto(t.name)
        .values(rows)
        .onConflict((oc: { columns: (c: readonly string[]) => { doNothing: () => unknown } }) => oc.columns(t.key).doNothing())
        .executeTakeFirst();
      n += Number(r?.numInsertedOrUpdatedRows ?? 0);
      if (rows.length < BATCH) break;
    }
    if (t.serial && to.getExecutor().adapter instanceof PostgresAdapter) {
      await sql`select setval(pg_get_serial_sequence(${t.name}, ${t.serial}), coalesce((select max(${sql.ref(t.serial)}) from ${sql.table(t.name)}), 0) + 1, false)`.execute(to);
    }
    copied[t.name] = n;
  }
  return copied;
}
