import assert from "node:assert/strict";
import { test } from "node:test";
import { exec, INHERITED_ENV } from "./exec.ts";

test("exec passes arguments without a shell", async () => {
  const r = await exec(["printf", "%s|", "a b", "$(id)", "; rm -rf /"]);
  assert.equal(r.stdout, "a b|$(id)|; rm -rf /|");
});

test("exec rejects a non-zero exit with the output tail", async () => {
  await assert.rejects(exec(["sh", "-c", "echo boom >&2; exit 3"]), /exited 3: boom/);
  const r = await exec(["sh", "-c", "exit 3"], { okCodes: "any" });
  assert.equal(r.code, 3);
});

test("exec kills the whole process group on timeout", async () => {
  // The grandchild would keep the pipe open for 30 s if only the child died.
  const t0 = Date.now();
  await assert.rejects(exec(["sh", "-c", "sleep 30 & sleep 30"], { timeoutMs: 300 }), /timed out/);
  assert.ok(Date.now() - t0 < 10_000);
});

test("exec reports a missing command clearly", async () => {
  await assert.rejects(exec(["patchbench-no-such-command"]), /command not found/);
});

test("exec feeds stdin", async () => {
  const r = await exec(["cat"], { input: "hello" });
  assert.equal(r.stdout, "hello");
});

test("children get only the allow-listed environment and what the caller passes", async () => {
  const secrets = {
    PATCHBENCH_SMTP_PASSWORD: "smtp-secret",
    PATCHBENCH_GITHUB_WEBHOOK_SECRET: "hook-secret",
    PATCHBENCH_GITHUB_PRIVATE_KEY: "key-secret",
    GITHUB_TOKEN: "ghp_secret",
    GH_TOKEN: "gh-secret",
    REDIS_URL: "redis://:pw@127.0.0.1:1",
    SSH_AUTH_SOCK: "/tmp/agent.sock",
    GIT_DIR: "/elsewhere",
  };
  const saved = Object.fromEntries(Object.keys(secrets).map((k) => [k, process.env[k]]));
  Object.assign(process.env, secrets);
  try {
    const parse = (text: string) => new Map(text.split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    const plain = parse((await exec(["env"])).stdout);
    for (const k of Object.keys(secrets)) assert.equal(plain.has(k), false, `${k} leaked to a child`);
    assert.equal(plain.get("PATH"), process.env.PATH);
    for (const k of plain.keys()) assert.ok((INHERITED_ENV as readonly string[]).includes(k), `${k} is not on the allow-list`);
    const explicit = parse((await exec(["env"], { extraEnv: { GIT_DIR: "/given" } })).stdout);
    assert.equal(explicit.get("GIT_DIR"), "/given");
    assert.equal(explicit.has("PATCHBENCH_SMTP_PASSWORD"), false);
    const output = (await exec(["env"])).stdout + (await exec(["env"], { extraEnv: { X: "1" } })).stdout;
    for (const v of Object.values(secrets)) assert.equal(output.includes(v), false, `${v} visible to a child`);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});
