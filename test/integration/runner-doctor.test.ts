import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { EMBEDDED_CONFIG_DIR } from "../../src/config/load-config.ts";
import type { DoctorCheck } from "../../src/runner/doctor/plan-doctor.ts";
import { runCli } from "../helpers/run-cli.ts";

/** `patchbench runner doctor` on this very machine, and a bench-grade pool's runner refusing an untuned box. */
describe("runner doctor (this machine, real /proc and /sys)", () => {
  let dir: string;
  let strict: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "pb-doctor-"));
    strict = join(dir, "config");
    cpSync(EMBEDDED_CONFIG_DIR, strict, { recursive: true });
    const file = join(strict, "patchbench.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace(/^ {2}requireTuned: false$/m, "  requireTuned: true"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("the table and --json agree; exit 1 only when a check fails; requireTuned turns tuning warnings into failures", async () => {
    const data = ["--data-dir", join(dir, "data")];
    const table = await runCli([...data, "runner", "doctor"]);
    const json = await runCli([...data, "runner", "doctor", "--json"]);
    const out = JSON.parse(json.stdout) as { unfit: boolean; requireTuned: boolean; checks: DoctorCheck[] };
    assert.equal(out.requireTuned, false);
    assert.equal(json.code, out.unfit ? 1 : 0);
    assert.equal(table.code, json.code);
    for (const c of out.checks) assert.match(table.stdout, new RegExp(`^${c.status.toUpperCase()} +${c.name.replace(/[()/]/g, "\\$&")} `, "m"));
    assert.ok(out.checks.every((c) => c.tuning === false || c.status !== "fail"), "tuning never fails without requireTuned");
    assert.match(table.stdout, /\d+ ok, \d+ warn, \d+ fail: /);

    const bench = JSON.parse((await runCli(["--config", strict, ...data, "runner", "doctor", "--json"])).stdout) as typeof out;
    const untuned = bench.checks.filter((c) => c.tuning && c.status !== "ok");
    assert.equal(bench.unfit, untuned.length > 0 || bench.checks.some((c) => !c.tuning && c.status === "fail"));
    assert.ok(untuned.every((c) => c.status === "fail" && c.fix), "each untuned item fails, with its fix");
    process.stderr.write(`# this box: ${untuned.map((c) => `${c.name} (${c.seen})`).join(", ") || "tuned"}\n`);

    if (bench.unfit) {
      // A bench-grade pool's runner refuses before it takes any job (and before it touches Redis).
      const runner = await runCli(["--config", strict, ...data, "--redis-url", "redis://127.0.0.1:1", "runner"]);
      assert.equal(runner.code, 78, runner.stderr);
      assert.match(runner.stderr, /this box is unfit for pool local: /);
      assert.match(runner.stderr, /unfit for a bench-grade pool \(runner\.requireTuned\)/);
    }
  });
});
