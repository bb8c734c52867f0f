import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import SQLite from "better-sqlite3";
import { type Dialect, Kysely, type MigrationProvider, type MigrationResultSet, Migrator, PostgresDialect, SqliteDialect } from "kysely";
import { infraError } from "../lib/errors.ts";
import { MIGRATIONS } from "./migrations.ts";
import type { Database } from "./schema.ts";

export type Db = Kysely<Database>;

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

/** A store location that is a PostgreSQL URL (the rest are SQLite files, or ":memory:"). */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//.test(location);
}

/** Pure: a store location for logs and errors, without a password. */
export function describeStore(location: string): string {
  if (!isPostgresUrl(location)) return location;
  try {
    const u = new URL(location);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "postgres://…";
  }
}

interface Opened {
  dialect: Dialect;
  /** Around the migration: SQLite serialises it across processes here (Kysely takes no lock for SQLite). */
  around: (migrate: () => Promise<MigrationResultSet>) => Promise<MigrationResultSet>;
}

async function sqliteDialect(path: string): Promise<Opened> {
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
  const db = sqlite;
  return {
    dialect: new SqliteDialect({ database: sqlite }),
    // Two processes opening a new store at once (the service and a CLI
    // command) would both see migrations pending and the second would fail
    // on "table already exists". BEGIN IMMEDIATE takes the write lock before
    // the migration state is read (waiting up to busy_timeout for the other
    // process), and the dialect's single connection runs every migration
    // statement inside it, so a migration is also all-or-nothing.
    around: async (migrate) => {
      try {
        db.exec("BEGIN IMMEDIATE");
      } catch (e) {
        throw infraError(`cannot lock store ${path} to bring its schema up to date: ${(e as Error).message}`, "another process holds it; try again", e);
      }
      try {
        const out = await migrate();
        if (!out.error && db.inTransaction) db.exec("COMMIT");
        return out;
      } finally {
        if (db.inTransaction) db.exec("ROLLBACK");
      }
    },
  };
}

async function postgresDialect(url: string): Promise<Opened> {
  // Loaded only for a PostgreSQL store: the CLI's start stays light for everyone else.
  const { default: pg } = await import("pg");
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 10_000 });
  // A connection that the server or the network drops is an 'error' event on the pool
  // (idle) or on the client (checked out between queries), which would end the process.
  // The pool replaces it; a query that cannot run fails where it is made, and is retried.
  pool.on("error", () => {});
  pool.on("connect", (client) => client.on("error", () => {}));
  try {
    (await pool.connect()).release();
  } catch (e) {
    await pool.end();
    throw infraError(`cannot reach the store at ${describeStore(url)}: ${(e as Error).message}`, "check store.url (PATCHBENCH_STORE_URL) and that PostgreSQL is running", e);
  }
  // Kysely's Postgres adapter already serialises migrations with an advisory lock.
  return { dialect: new PostgresDialect({ pool }), around: (migrate) => migrate() };
}

/**
 * Whether another process holds the SQLite store's write lock, as one bringing its schema up to
 * date does for the whole migration (see sqliteDialect). Asked without waiting: better-sqlite3
 * waits for a lock synchronously, which would stall every request of a server in this process.
 * False for PostgreSQL (its migration lock is waited for without blocking) and for a store not
 * created yet.
 */
export function storeWriteLocked(location: string): boolean {
  if (isPostgresUrl(location) || location === ":memory:" || !existsSync(location)) return false;
  const probe = new SQLite(location, { fileMustExist: true, timeout: 0 });
  try {
    probe.exec("BEGIN IMMEDIATE");
    probe.exec("ROLLBACK");
    return false;
  } catch (e) {
    if ((e as { code?: string }).code === "SQLITE_BUSY") return true;
    throw e;
  } finally {
    probe.close();
  }
}

/**
 * Open (creating when needed) the store and bring its schema up to date:
 * SQLite for a file path (the embedded default), PostgreSQL for a
 * `postgres://` URL (`store.url`). The same migrations and repositories
 * serve both.
 */
export async function openStore(location: string): Promise<Db> {
  const { dialect, around } = isPostgresUrl(location) ? await postgresDialect(location) : await sqliteDialect(location);
  const db = new Kysely<Database>({ dialect });
  let outcome: MigrationResultSet;
  try {
    outcome = await around(() => new Migrator({ db, provider }).migrateToLatest());
  } catch (e) {
    await db.destroy();
    throw e;
  }
  const { error, results } = outcome;
  if (error) {
    await db.destroy();
    // Kysely's words for a store migrated by a newer patchbench: refuse it, never guess.
    const newer = /previously executed migration (\S+) is missing/.exec(String((error as Error).message));
    if (newer) {
      const known = Object.keys(MIGRATIONS).sort().at(-1) ?? "none";
      throw infraError(
        `the store ${describeStore(location)} has schema ${newer[1]}, newer than this patchbench knows (up to ${known}): a newer patchbench has used it`,
        "upgrade this patchbench, or point it at another store",
      );
    }
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "?";
    throw infraError(`store migration ${failed} failed: ${(error as Error).message}`);
  }
  return db;
}
