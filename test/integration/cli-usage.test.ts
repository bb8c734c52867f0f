import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { runCli } from "../helpers/run-cli.ts";

/**
 * Preloaded into the CLI: the moment the process adds its first SIGTERM
 * handler, it sends itself SIGTERM, so the signal lands at the earliest time
 * patchbench could handle one. Node's own handler (which only restores the
 * terminal and dies, exit 143) is there from the start, so /proc cannot tell.
 */
const SIGNAL_AT_FIRST_HANDLER = `
const on = process.on;
let sent = false;
process.on = process.addListener = function (event, listener) {
  const r = on.call(this, event, listener);
  if (event === "SIGTERM" && !sent) { sent = true; process.kill(process.pid, "SIGTERM"); }
  return r;
};
`;

/** Usage errors, signals before a command is loaded, and read-only commands that must not write. */
describe("patchbench CLI: usage errors and early signals", () => {
  const dir = mkdtempSync(join(tmpdir(), "pb-usage-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("an unknown option: exit 65, one line, naming the command's own help", async () => {
    const r = await runCli(["review", "--frob", "x"]);
    assert.equal(r.code, 65, r.stderr);
    assert.equal(r.stderr, "patchbench: unknown option '--frob' (`patchbench help review` lists its options)\n");
    const nested = await runCli(["config", "check", "--frob"]);
    assert.equal(nested.code, 65);
    assert.match(nested.stderr, /^patchbench: unknown option '--frob' \(`patchbench config help check` lists its options\)\n$/);
  });

  test("review: every bad flag named at once, exit 65, before the input is even read", async () => {
    const missing = join(dir, "no-such.mbox");
    const r = await runCli(["review", missing, "--stages", "apply,frob", "--topologies", "moon", "--tests", "TCP_XX", "--timeout", "soon"]);
    assert.equal(r.code, 65, r.stderr);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^patchbench: 4 problems: /);
    for (const why of [/unknown stage "frob" \(known: apply, build, selftests, bench\)/, /unknown topology "moon"/, /unknown test "TCP_XX"/, /--timeout expects a whole number/]) {
      assert.match(r.stderr, why);
    }
    assert.doesNotMatch(r.stderr, /no-such\.mbox/, "flags are refused before the input is looked at");
  });

  test("an unknown option among bad values: named with them, in one line", async () => {
    const b = await runCli(["bench", "--bogus", "--rounds", "x", "--design", "Q"]);
    assert.equal(b.code, 65, b.stderr);
    assert.equal(
      b.stderr,
      "patchbench: 3 problems: unknown option '--bogus'; --rounds expects a whole number >= 1, got \"x\"; --design must be ABBA or ABAB, got \"Q\" (`patchbench help bench` lists its options)\n",
    );
    const r = await runCli(["review", "x.mbox", "--stagez", "apply", "--tests", "TCP_XX"]);
    assert.equal(r.code, 65, r.stderr);
    assert.match(r.stderr, /^patchbench: 2 problems: unknown option '--stagez' \(Did you mean --stages\?\); unknown test "TCP_XX" .*\(`patchbench help review` lists its options\)\n$/);
    // Commander stops at the first unknown option; every one is named.
    const two = await runCli(["series", "--bogus", "x.mbox", "--zzz=1"]);
    assert.equal(two.code, 65, two.stderr);
    assert.equal(two.stderr, "patchbench: 2 problems: unknown option '--bogus'; unknown option '--zzz' (`patchbench help series` lists its options)\n");
  });

  test("SIGTERM while the command is still loading: exit 130 and one line, not a silent 143", async () => {
    const preload = join(dir, "signal-at-first-handler.cjs");
    writeFileSync(preload, SIGNAL_AT_FIRST_HANDLER);
    const env = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require ${preload}`.trim() };
    const r = await runCli(["--data-dir", join(dir, "early"), "review", join(dir, "no-such.mbox")], env);
    assert.equal(r.code, 130, r.stderr);
    // Handled before `review` was loaded (it would say "interrupted; stopping (...)").
    assert.equal(r.stderr, "patchbench: interrupted (SIGTERM)\n");
  });

  test("quarantine list where nothing was ingested: says so and creates no store", async () => {
    const data = join(dir, "never-used");
    const r = await runCli(["--data-dir", data, "quarantine", "list"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `no store at ${join(data, "patchbench.sqlite")} (nothing was ingested with this data folder): 0 quarantined\n`);
    const j = await runCli(["--data-dir", data, "quarantine", "list", "--json"]);
    assert.equal(j.code, 0, j.stderr);
    assert.deepEqual(JSON.parse(j.stdout), []);
    assert.equal(existsSync(data), false);
  });
});
