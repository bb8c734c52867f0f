import type { Migration } from "kysely";
import { MIGRATIONS_0001_0008 } from "./migrations/migrations-0001-0008.ts";
import { MIGRATIONS_0009_0012 } from "./migrations/migrations-0009-0012.ts";

/**
 * Schema migrations, in order, for SQLite and PostgreSQL alike; kept in files by range so each
 * stays readable.
 */
export const MIGRATIONS: Record<string, Migration> = { ...MIGRATIONS_0001_0008, ...MIGRATIONS_0009_0012 };
