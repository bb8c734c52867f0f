import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, type MigrationProvider, Migrator, SqliteDialect } from "kysely";
import { infraError } from "../lib/errors.ts";
import { MIGRATIONS } from "./migrations.ts";
import type { Database } from "./schema.ts";

export type Db = Kysely<Database>;

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

/** Open (creating when needed) the SQLite store and bring its schema up to date. */
export async function openStore(path: string): Promise<Db> {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  let sqlite: SQLite.Database;
  try {
    sqlite = new SQLite(path);
  } catch (e) {
    throw infraError(`cannot open store ${path}: ${(e as Error).message}`, "check the path and its permissions", e);
  }
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("foreign_keys = ON");
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) {
    await db.destroy();
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "?";
    throw infraError(`store migration ${failed} failed: ${(error as Error).message}`);
  }
  return db;
}
