import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import type { Job } from "bullmq";
import { type Config, globalSchema, treeSchema } from "../../src/config/schema.ts";
import type { Series } from "../../src/domain/series.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { createFlowIfAbsent } from "../../src/store/flow-repository.ts";
import { type Db, openStore } from "../../src/store/open-store.ts";
import { saveSeries } from "../../src/store/series-repository.ts";
import { createReportProcessor } from "../../src/workers/report-processor.ts";
import { startFakePatchwork, type FakePatchwork } from "../helpers/fake-patchwork.ts";
import { DELACK_FILES, delackApplied, netperfDelayBench, noNetserverReason, seriesMails, seriesOf } from "./mail-fixture-results.ts";

/**
 * The report job on its real path to patchwork: a series read from real
 * netdev mails (the list's copies), the same mails known to a local
 * patchwork (every request checked against patchwork's API description),
 * results from recorded runs; checks land on patchwork's patches found by
 * Message-ID, once; a real client (Debian's git-pw) reads the same series.
 */
const TOKEN_ENV = "PB_TEST_PATCHWORK_TOKEN";

function reportJob(flowId: string, series: Series, chain: unknown, errors: { stage: string; reason: string }[] = []): Job {
  return {
    data: { flowId, seriesId: series.id, tree: "net-next" },
    getChildrenValues: async () => ({ [`bull:x:${flowId}-chain`]: { results: chain, errors } }),
    getIgnoredChildrenFailures: async () => ({}),
  } as unknown as Job;
}

/** The list's copies as one mbox, as patchwork would have received them. */
function mboxOf(files: readonly string[]): string {
  return seriesMails(files)
    .map((b) => `From mboxrd@z Thu Jan  1 00:00:00 1970\n${b.toString("utf8").replace(/\r\n/g, "\n").replace(/\n?$/, "\n")}`)
    .join("");
}

describe("report job → patchwork checks", () => {
  let dir: string;
  let db: Db;
  let pw: FakePatchwork;
  let config: Config;
  let delack: Series;
  const log = createLogger({ level: process.env.PB_TEST_LOG ?? "silent" });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pb-patchwork-"));
    pw = await startFakePatchwork({ mboxes: [mboxOf(DELACK_FILES)] });
    process.env[TOKEN_ENV] = pw.maintainerToken;
    db = await openStore(join(dir, "store.sqlite"));
    delack = await seriesOf(DELACK_FILES);
    await saveSeries(db, delack, new Map());
    const global = globalSchema.parse({ patchwork: { enabled: true, url: pw.url, project: pw.project.linkName, tokenEnv: TOKEN_ENV } });
    config = {
      configDir: null,
      global,
      trees: [treeSchema.parse({ name: "net-next", url: "unused", lists: ["netdev@vger.kernel.org"] })],
      secrets: { smtpPassword: null },
      paths: { dataDir: dir, storePath: join(dir, "store.sqlite"), store: join(dir, "store.sqlite"), workDir: join(dir, "work"), outboxDir: join(dir, "outbox") },
    };
  });
  after(async () => {
    delete process.env[TOKEN_ENV];
    assert.deepEqual(pw.problems, [], "every request and answer fits patchwork's API description");
    await pw.close();
    await db?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  async function runReport(flowId: string, chain: unknown[], errors: { stage: string; reason: string }[] = []) {
    await createFlowIfAbsent(db, { id: flowId, seriesId: delack.id, tree: "net-next", base: null, plan: "{}" });
    return createReportProcessor({ db, config, log })(reportJob(flowId, delack, chain, errors));
  }

  test("a measured regression: apply success and bench warning with its numbers on each of the 3 patches; a re-run posts nothing", async () => {
    const patchIds = pw.series[0]!.patches.map((p) => p.id);
    assert.equal(patchIds.length, 3);
    const out = await runReport("flow-pw-regression", [delackApplied(), netperfDelayBench()]);
    assert.equal(out.status, "warn");
    assert.deepEqual(
      pw.checks.map((c) => `${c.patchId} ${c.context} ${c.state}`).sort(),
      patchIds.flatMap((id) => [`${id} patchbench-apply success`, `${id} patchbench-bench warning`]).sort(),
    );
    const bench = pw.checks.find((c) => c.context === "patchbench-bench")!;
    assert.match(bench.description ?? "", /^TCP_RR container 1 B -\d+\.\d% \[-\d+\.\d%, -\d+\.\d%\] \(n=5\): regression$/);
    assert.match(bench.target_url ?? "", /^https:\/\/lore\.kernel\.org\/all\//);
    const row = await db.selectFrom("deliveries").selectAll().where("id", "=", "flow-pw-regression-patchwork").executeTakeFirstOrThrow();
    assert.equal(row.status, "sent");

    const before = pw.checks.length;
    const sent = pw.requests.length;
    await runReport("flow-pw-regression", [delackApplied(), netperfDelayBench()]);
    assert.equal(pw.checks.length, before, "the report job ran twice; patchwork got nothing new");
    // The re-run's cost: per patch one read of its checks, no POST; the patch ids found by Message-ID the first time are stored.
    assert.deepEqual(
      pw.requests.slice(sent).map((r) => `${r.method} ${r.operationId}`),
      ["GET checks_list", "GET checks_list", "GET checks_list"],
    );
    const stored = await db.selectFrom("patchwork_patches").select(["message_id", "patch_id"]).orderBy("patch_id").execute();
    assert.deepEqual(
      stored.map((r) => [r.message_id, r.patch_id]),
      pw.series[0]!.patches.map((p) => [p.mail.msgid, p.id]),
    );
  });

  test("an infrastructure error is a warning on patchwork, never fail", async () => {
    await runReport("flow-pw-infra", [delackApplied()], [{ stage: "build", reason: noNetserverReason() }]);
    const build = pw.checks.filter((c) => c.context === "patchbench-build");
    assert.equal(build.length, 3);
    for (const c of build) {
      assert.equal(c.state, "warning");
      assert.match(c.description ?? "", /could not run \(infrastructure, not the series\)/);
    }
    assert.equal(pw.checks.filter((c) => c.state === "fail").length, 0);
  });

  test("git-pw (Debian's patchwork client) reads the series and mbox the checks are on from the stand-in", async (t) => {
    try {
      execFileSync("git-pw", ["--help"], { stdio: "ignore" });
    } catch {
      t.skip("git-pw is not installed (apt-get install git-pw)");
      return;
    }
    // git-pw 2.0 has no command that lists checks: it reads what they are posted on.
    const repo = mkdtempSync(join(dir, "repo-"));
    execFileSync("git", ["init", "-q", repo]);
    const env = { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" };
    const pwArgs = ["--server", `${pw.url}/api/1.3`, "--project", pw.project.linkName, "--token", pw.maintainerToken];
    // Asynchronous: the stand-in answers from this process's event loop.
    const run = async (...args: string[]) => (await promisify(execFile)("git-pw", [...pwArgs, ...args], { cwd: repo, env, encoding: "utf8", timeout: 30_000 })).stdout;
    const s = pw.series[0]!;
    const shown = await run("series", "show", "-f", "csv", String(s.id));
    for (const p of s.patches) assert.ok(shown.includes(p.mail.name), `${p.mail.name} in:\n${shown}`);
    const mbox = join(dir, "patch.mbox");
    await run("patch", "download", "--mbox", String(s.patches[0]!.id), mbox);
    assert.equal(readFileSync(mbox, "utf8"), s.patches[0]!.mail.raw);
  });
});
