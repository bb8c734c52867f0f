import assert from "node:assert/strict";
import { test } from "node:test";
import { silentLogger } from "../../src/lib/logger.ts";
import { openStore } from "../../src/store/open-store.ts";
import { allowedHostNames, hostAllowed } from "../../src/web/check-host.ts";
import { serveWeb } from "../../src/workers/serve-web.ts";
import { getWithHost } from "../helpers/get-with-host.ts";


test("Host names: loopback, IP literals, where it listens, the public host and the configured extras; nothing else", () => {
  const names = allowedHostNames({ host: "0.0.0.0", publicUrl: "https://bench.example.org/dash", allowedHosts: ["Bench-Internal"] });
  for (const h of ["localhost:8470", "127.0.0.1:8470", "[::1]:8470", "10.1.2.3", "bench.example.org", "BENCH.example.org.", "bench-internal:80", "a.localhost"]) {
    assert.equal(hostAllowed(h, names), true, h);
  }
  for (const h of [undefined, "", "attacker.example", "bench.example.org.attacker.example", "127.0.0.1.nip.io", "localhost@attacker.example", "bench.example.org:x"]) {
    assert.equal(hostAllowed(h, names), false, String(h));
  }
});

test("a request naming a host the dashboard does not have is refused over real HTTP (421, 400 without a Host), before any page is read", async () => {
  const db = await openStore(":memory:");
  const web = await serveWeb({ db, log: silentLogger(), host: "127.0.0.1", port: 0, trees: [], publicUrl: "https://bench.example.org", allowedHosts: ["dash.internal"] });
  try {
    const port = new URL(web.url).port;
    const foreign = await getWithHost(web.url, "/api/series", `rebind.attacker.example:${port}`);
    assert.equal(foreign.status, 421);
    assert.match(foreign.body, /does not answer to the host \\"rebind\.attacker\.example/);
    const page = await getWithHost(web.url, "/series", "rebind.attacker.example");
    assert.equal(page.status, 421, "HTML pages too");
    assert.match(page.body, /<h1>Wrong host<\/h1>/);
    assert.equal((await getWithHost(web.url, "/series", null)).status, 400);
    for (const ok of [`127.0.0.1:${port}`, `localhost:${port}`, "bench.example.org", "dash.internal"]) {
      assert.equal((await getWithHost(web.url, "/api/series", ok)).status, 200, ok);
    }
  } finally {
    await web.close();
    await db.destroy();
  }
});
