import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createScratchSeries } from "../../src/demo/scratch-series.ts";
import { writeDemoConfig } from "../../src/demo/write-demo-config.ts";
import { readProcessTable } from "../../src/lib/process-table.ts";
import type { TestRedis } from "../helpers/redis-server.ts";
import { runCli } from "../helpers/run-cli.ts";
import type { AttackRow } from "./format-attack-table.ts";
import { probeAttack, skippedAttack } from "./probe-attack.ts";

/** netperf runs of this (unusual) length are the job's; test/integration/stage-deadline.test.ts, which may run alongside, uses 47 s. */
const LENGTH = "43";
const JOB_TIMEOUT_SEC = 10;

function jobNetperfs(): number[] {
  return readProcessTable()
    .filter((p) => {
      try {
        const argv = readFileSync(`/proc/${p.pid}/cmdline`, "utf8").split("\0");
        return argv[0]?.endsWith("netperf") && argv.includes("-l") && argv[argv.indexOf("-l") + 1] === LENGTH;
      } catch {
        return false;
      }
    })
    .map((p) => p.pid);
}

/**
 * A job that would hold a runner far past its deadline (a bench of 4 × 43 s
 * runs, as a hostile /bench or a hung build would), through `patchbench
 * review`: the real runner, its stage processor and its process groups.
 */
export async function runDeadlineAttacks(redis: TestRedis): Promise<AttackRow[]> {
  const attack = `a stage past runner.jobTimeoutSec (${JOB_TIMEOUT_SEC} s; its bench wants 4 × ${LENGTH} s)`;
  const expected = "an infrastructure error at the deadline; no process of the job left";
  if (!existsSync("/usr/bin/netperf")) return [skippedAttack(attack, expected, "netperf is not installed (scripts/setup-system.sh)")];
  const dir = mkdtempSync(join(tmpdir(), "pb-sec-deadline-"));
  try {
    return [
      await probeAttack(attack, expected, async () => {
        const s = await createScratchSeries(join(dir, "s"));
        const configDir = writeDemoConfig({
          dir,
          treePath: s.treeDir,
          maildir: join(dir, "maildir"),
          bench: { sizes: [1], topologies: ["loopback"], rounds: 2, maxRounds: 2, runsPerRound: 1, durationSec: Number(LENGTH) },
        });
        const globalFile = join(configDir, "patchbench.yaml");
        const text = readFileSync(globalFile, "utf8");
        assert.match(text, /^ {2}jobTimeoutSec: 7200$/m);
        writeFileSync(globalFile, text.replace(/^ {2}jobTimeoutSec: 7200$/m, `  jobTimeoutSec: ${JOB_TIMEOUT_SEC}`));
        const t0 = Date.now();
        const r = await runCli(["--config", configDir, "--data-dir", join(dir, "data"), "--redis-url", redis.url, "review", s.mboxPath]);
        const took = (Date.now() - t0) / 1000;
        assert.equal(r.code, 0, r.stderr.slice(-500));
        assert.match(r.stdout, new RegExp(`bench: could not run \\(infrastructure, not the series\\): stage exceeded\\s+runner\\.jobTimeoutSec=${JOB_TIMEOUT_SEC}`));
        assert.match(r.stderr, /stage ran out of time; its processes were killed/);
        assert.ok(took < 40, `the review took ${took.toFixed(0)} s`);
        const left = jobNetperfs();
        assert.deepEqual(left, [], "netperf of the job still running");
        return `review done in ${took.toFixed(0)} s, bench "stage exceeded runner.jobTimeoutSec=${JOB_TIMEOUT_SEC}"; 0 of the job's netperf left running`;
      }),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
