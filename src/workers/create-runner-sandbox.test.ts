import assert from "node:assert/strict";
import { test } from "node:test";
import type { Config } from "../config/schema.ts";
import { validateConfig } from "../config/validate-config.ts";
import { sandboxSettingsOf } from "./create-runner-sandbox.ts";

test("the runner's sandbox hides the data dir, work dir, outbox, store, config and key files", () => {
  const v = validateConfig({
    global: { file: "g.yaml", text: "runner:\n  sandboxLimits:\n    maxProcs: 64\n" },
    trees: [{ file: "t.yaml", text: "name: bpf-next\nurl: /x\nboot:\n  ssh:\n    identityFile: /etc/keys/runner_ed25519\n" }],
  });
  assert.deepEqual(v.errors, []);
  const config: Config = {
    configDir: "/srv/pb/config",
    global: v.global!,
    trees: v.trees,
    secrets: { smtpPassword: null },
    paths: { dataDir: "/srv/pb/data", storePath: "/srv/db/pb.sqlite", store: "/srv/db/pb.sqlite", workDir: "/scratch/work", outboxDir: "/srv/outbox" },
  };
  const s = sandboxSettingsOf(config, { PATCHBENCH_GITHUB_PRIVATE_KEY_PATH: "/etc/keys/app.pem" });
  assert.equal(s.mode, "bwrap");
  assert.equal(s.user, "patchbench-sandbox");
  assert.equal(s.limits.maxProcs, 64);
  for (const p of ["/srv/pb/data", "/scratch/work", "/srv/outbox", "/srv/db/pb.sqlite", "/srv/db/pb.sqlite-wal", "/srv/pb/config", "/etc/patchbench", "/etc/keys/app.pem", "/etc/keys/runner_ed25519"]) {
    assert.ok(s.hide.includes(p), p);
  }
});
