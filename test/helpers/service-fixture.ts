import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { type ScratchPostgres, scratchPostgres } from "./postgres.ts";
import { startTestRedis, type TestRedis } from "./redis-server.ts";

/** A real Redis, a scratch PostgreSQL database and a scratch folder for one test file running `patchbench start`. */
export interface ServiceFixture {
  redis: TestRedis;
  pg: ScratchPostgres;
  dir: string;
}

/** Starts them before the file's tests and removes them after; read the fields inside tests. */
export function serviceFixture(prefix: string): ServiceFixture {
  const f = {} as ServiceFixture;
  before(async () => {
    [f.redis, f.pg] = await Promise.all([startTestRedis(), scratchPostgres()]);
    f.dir = mkdtempSync(join(tmpdir(), prefix));
    // The sandboxed stages (another user) reach their worktrees under here.
    chmodSync(f.dir, 0o755);
  });
  after(async () => {
    await Promise.all([f.redis?.stop(), f.pg?.drop()]);
    if (f.dir) rmSync(f.dir, { recursive: true, force: true });
  });
  return f;
}
