import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { scratchPostgres } from "./postgres.ts";

/** A fresh, empty store location on one backend, and how to remove it. */
export interface StoreBackend {
  name: "sqlite" | "postgres";
  fresh(): Promise<{ location: string; drop(): Promise<void> }>;
}

/** Both backends the repositories must serve: repository tests run once per entry. */
export const STORE_BACKENDS: readonly StoreBackend[] = [
  {
    name: "sqlite",
    async fresh() {
      const dir = mkdtempSync(join(tmpdir(), "pb-store-"));
      return { location: join(dir, "s.sqlite"), drop: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: "postgres",
    async fresh() {
      const pg = await scratchPostgres();
      return { location: pg.url, drop: () => pg.drop() };
    },
  },
];
