import assert from "node:assert/strict";
import { test } from "node:test";
import { validateConfig } from "../../config/validate-config.ts";
import type { Config } from "../../config/schema.ts";
import { configForPool, sshTargetsOf } from "./runner-doctor-command.ts";

test("configForPool: a runner's start checks only its own pool's ssh targets and peers", () => {
  const tree = (name: string, pool: string, host: string) => ({ file: `${name}.yaml`, text: `name: ${name}\nurl: /x\npool: ${pool}\nboot:\n  target: ssh\n  ssh:\n    host: ${host}\n` });
  const v = validateConfig({ global: null, trees: [tree("a", "lab", "box-a"), tree("b", "other", "box-b")] });
  assert.equal(v.trees.length, 2, JSON.stringify(v.errors));
  const config = { global: v.global, trees: v.trees } as unknown as Config;
  assert.deepEqual(sshTargetsOf(config).map((t) => t.host), ["box-a", "box-b"]);
  assert.deepEqual(sshTargetsOf(configForPool(config, "lab")).map((t) => t.host), ["box-a"]);
  assert.deepEqual(sshTargetsOf(configForPool(config, "none")), []);
});
