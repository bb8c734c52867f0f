import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { exec } from "../../src/lib/exec.ts";

/** A scratch PostgreSQL database for one test file; `drop()` removes it (and a private server). */
export interface ScratchPostgres {
  url: string;
  drop(): Promise<void>;
}

/** The machine's server (PATCHBENCH_TEST_PG overrides it; a URL nothing answers forces a private server). */
const SYSTEM = process.env.PATCHBENCH_TEST_PG ?? "postgres://postgres@127.0.0.1:5432/postgres";

async function answers(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * The machine's PostgreSQL on 127.0.0.1:5432 (trust auth) when it answers;
 * else a private server from Debian's binaries, run as the `postgres` user
 * in a scratch folder on a free port, stopped by drop().
 */
async function server(): Promise<{ admin: string; stop: () => Promise<void> }> {
  if (await answers(SYSTEM)) return { admin: SYSTEM, stop: async () => {} };
  const versions = existsSync("/usr/lib/postgresql") ? readdirSync("/usr/lib/postgresql").sort() : [];
  const bin = versions.length ? join("/usr/lib/postgresql", versions.at(-1)!, "bin") : null;
  if (!bin) throw new Error("no PostgreSQL answers on 127.0.0.1:5432 and none is installed (apt-get install postgresql)");
  const dir = mkdtempSync(join(tmpdir(), "pb-pg-"));
  const uid = Number((await exec(["id", "-u", "postgres"])).stdout.trim());
  const gid = Number((await exec(["id", "-g", "postgres"])).stdout.trim());
  chownSync(dir, uid, gid);
  const asPostgres = (argv: string[]) => ["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--", ...argv];
  await exec(asPostgres([join(bin, "initdb"), "-D", join(dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8"]), { timeoutMs: 120_000 });
  const port = await freePort();
  const argv = asPostgres([join(bin, "postgres"), "-D", join(dir, "data"), "-h", "127.0.0.1", "-p", String(port), "-k", dir]);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: "ignore" });
  const admin = `postgres://postgres@127.0.0.1:${port}/postgres`;
  for (let i = 0; i < 100 && !(await answers(admin)); i++) await new Promise((r) => setTimeout(r, 200));
  if (!(await answers(admin))) {
    child.kill("SIGKILL");
    throw new Error(`a private PostgreSQL in ${dir} did not answer`);
  }
  return {
    admin,
    stop: async () => {
      child.kill("SIGINT");
      await new Promise((r) => child.once("exit", r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function scratchPostgres(): Promise<ScratchPostgres> {
  const s = await server();
  const name = `pb_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: s.admin });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return {
    url: s.admin.replace(/\/postgres$/, `/${name}`),
    async drop() {
      const c = new pg.Client({ connectionString: s.admin });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
      await s.stop();
    },
  };
}
