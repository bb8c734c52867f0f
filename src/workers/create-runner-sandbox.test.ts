import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { stringify } from "yaml";
import { loadConfig } from "../config/load-config.ts";
import { sandboxHidePaths } from "./create-runner-sandbox.ts";

test("the sandbox hides every key file the trees name: the ssh boot target's and the remote peer's", () => {
  const dir = mkdtempSync(join(tmpdir(), "pb-hide-"));
  try {
    mkdirSync(join(dir, "trees"));
    writeFileSync(join(dir, "patchbench.yaml"), stringify({ trees: ["bpf-next"], defaultTree: "bpf-next" }));
    writeFileSync(
      join(dir, "trees", "bpf-next.yaml"),
      stringify({
        name: "bpf-next",
        url: "/x",
        boot: { ssh: { host: "lab1", identityFile: "/srv/keys/lab1", knownHostsFile: "/srv/keys/lab1.known" } },
        bench: { topologies: ["remote"], remote: { host: "peer1", identityFile: "/srv/keys/peer", knownHostsFile: "/srv/keys/peer.known", dataAddr: "10.0.0.2" } },
      }),
    );
    const hide = sandboxHidePaths(loadConfig({ configDir: dir, flags: { dataDir: join(dir, "data") } }), {});
    for (const f of ["/srv/keys/lab1", "/srv/keys/lab1.known", "/srv/keys/peer", "/srv/keys/peer.known", dir]) assert.ok(hide.includes(f), `${f} in ${hide.join(", ")}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
