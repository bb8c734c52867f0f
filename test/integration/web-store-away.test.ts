import assert from "node:assert/strict";
import { connect, createServer, type Server, type Socket } from "node:net";
import { test } from "node:test";
import { silentLogger } from "../../src/lib/logger.ts";
import { openStore } from "../../src/store/open-store.ts";
import { serveWeb } from "../../src/workers/serve-web.ts";
import { scratchPostgres } from "../helpers/postgres.ts";
import { waitFor } from "../helpers/wait-for.ts";

/** A TCP relay to PostgreSQL that can be cut (every connection dropped, nothing listening) and put back on the same port. */
function relay(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  const listen = () =>
    new Promise<number>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(target.port, target.host);
        for (const x of [client, upstream]) {
          sockets.add(x);
          x.on("close", () => sockets.delete(x));
          x.on("error", () => {});
        }
        client.pipe(upstream).pipe(client);
      });
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve(port);
      });
    });
  return {
    listen,
    cut: () =>
      new Promise<void>((resolve) => {
        for (const x of sockets) x.destroy();
        const s = server;
        server = null;
        if (s) s.close(() => resolve());
        else resolve();
      }),
  };
}

test("a PostgreSQL store that goes away under a running dashboard: pages are 503 with Retry-After (logged as a warning, not a page failure), 200 once it is back", async () => {
  const pg = await scratchPostgres();
  const target = new URL(pg.url);
  const cable = relay({ host: target.hostname, port: Number(target.port || 5432) });
  const port = await cable.listen();
  const via = new URL(pg.url);
  via.hostname = "127.0.0.1";
  via.port = String(port);
  const db = await openStore(via.toString());
  const logged: string[] = [];
  const log = silentLogger();
  const warn = log.warn.bind(log);
  // The log lines themselves are what is checked: which level the dashboard gave the outage.
  log.warn = ((...a: Parameters<typeof log.warn>) => {
    logged.push(`warn ${JSON.stringify(a)}`);
    return warn(...a);
  }) as typeof log.warn;
  const error = log.error.bind(log);
  log.error = ((...a: Parameters<typeof log.error>) => {
    logged.push(`error ${JSON.stringify(a)}`);
    return error(...a);
  }) as typeof log.error;
  const web = await serveWeb({ db, log, host: "127.0.0.1", port: 0, trees: [] });
  try {
    const get = (p: string) => fetch(new URL(p, web.url));
    assert.equal((await get("/api/series")).status, 200);
    await cable.cut();
    for (const p of ["/api/series", "/series"]) {
      const r = await get(p);
      assert.equal(r.status, 503, p);
      assert.equal(r.headers.get("retry-after"), "5", p);
      assert.match(await r.text(), /the store cannot be reached right now/, p);
    }
    assert.ok(logged.some((l) => l.startsWith("warn") && l.includes("the store cannot be reached")), logged.join("\n"));
    assert.ok(!logged.some((l) => l.startsWith("error")), logged.join("\n"));
    await cable.listen();
    await waitFor("the store back", async () => (await get("/api/series")).status === 200, 30_000);
  } finally {
    await web.close();
    await cable.cut();
    await db.destroy();
    await pg.drop();
  }
});
