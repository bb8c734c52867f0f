import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Job } from "bullmq";
import { type Config, globalSchema, treeSchema } from "../../src/config/schema.ts";
import type { Series } from "../../src/domain/series.ts";
import { createLogger } from "../../src/lib/logger.ts";
import { describeSeriesChanges } from "../../src/report/describe-version-changes.ts";
import { createFlowIfAbsent, setFlowStatus } from "../../src/store/flow-repository.ts";
import { type Db, openStore } from "../../src/store/open-store.ts";
import { saveSeries } from "../../src/store/series-repository.ts";
import { loadSeriesView } from "../../src/workers/load-web-views.ts";
import { createReportProcessor } from "../../src/workers/report-processor.ts";
import { startFakePatchwork, type FakePatchwork } from "../helpers/fake-patchwork.ts";
import { runCli } from "../helpers/run-cli.ts";
import { DELACK_FILES, delackApplied, netperfDelayBench, seriesMails, seriesOf } from "./mail-fixture-results.ts";

/**
 * Two versions of a series through the real report job on a SQLite store: v1 measured the
 * recorded 20 us delay on all five pairs (a regression), v2 on the first three (noisy). v2's
 * mail, stored on disk by the outbox, says what changed since v1; every report links to its
 * run's dashboard page, patchwork's checks included.
 */
const TOKEN_ENV = "PB_TEST_SINCE_PATCHWORK_TOKEN";
const PUBLIC = "https://bench.example.org/pb";

function reportJob(flowId: string, series: Series, chain: unknown): Job {
  return {
    data: { flowId, seriesId: series.id, tree: "net-next" },
    getChildrenValues: async () => ({ [`bull:x:${flowId}-chain`]: { results: chain, errors: [] } }),
    getIgnoredChildrenFailures: async () => ({}),
  } as unknown as Job;
}

describe("report job: Since v1 and the run page link", () => {
  let dir: string;
  let db: Db;
  let pw: FakePatchwork;
  let config: Config;
  let v1: Series;
  let v2: Series;
  const log = createLogger({ level: process.env.PB_TEST_LOG ?? "silent" });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "pb-since-"));
    const mbox = seriesMails(DELACK_FILES)
      .map((b) => `From mboxrd@z Thu Jan  1 00:00:00 1970\n${b.toString("utf8").replace(/\r\n/g, "\n").replace(/\n?$/, "\n")}`)
      .join("");
    pw = await startFakePatchwork({ mboxes: [mbox] });
    process.env[TOKEN_ENV] = pw.maintainerToken;
    // Where `--data-dir dir` finds it, for b4-check.
    db = await openStore(join(dir, "patchbench.sqlite"));
    v1 = { ...(await seriesOf(DELACK_FILES)), version: 1, previousVersion: null };
    v2 = { ...v1, id: `${v1.id}-v2`, version: 2, previousVersion: v1.id };
    const global = globalSchema.parse({
      web: { publicUrl: PUBLIC },
      patchwork: { enabled: true, url: pw.url, project: pw.project.linkName, tokenEnv: TOKEN_ENV },
    });
    config = {
      configDir: null,
      global,
      trees: [treeSchema.parse({ name: "net-next", url: "unused", lists: ["netdev@vger.kernel.org"] })],
      secrets: { smtpPassword: null },
      paths: { dataDir: dir, storePath: join(dir, "patchbench.sqlite"), store: join(dir, "patchbench.sqlite"), workDir: join(dir, "work"), outboxDir: join(dir, "outbox") },
    };
  });
  after(async () => {
    delete process.env[TOKEN_ENV];
    assert.deepEqual(pw.problems, [], "every request and answer fits patchwork's API description");
    await pw.close();
    await db?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  async function runReport(series: Series, flowId: string, chain: unknown[]) {
    await saveSeries(db, series, new Map());
    await createFlowIfAbsent(db, { id: flowId, seriesId: series.id, tree: "net-next", base: null, plan: "{}" });
    return createReportProcessor({ db, config, log })(reportJob(flowId, series, chain));
  }

  test("v1 alone: no Since section; v2: the regression v1 had is not confirmed, in the mail as the dashboard says it; each report links to its run page", async () => {
    const first = await runReport(v1, "flow-since-1", [delackApplied(), netperfDelayBench()]);
    assert.doesNotMatch(first.text, /Since v/);
    assert.match(first.text, /^Details: https:\/\/bench\.example\.org\/pb\/runs\/flow-since-1$/m);

    const second = await runReport(v2, "flow-since-2", [delackApplied(), netperfDelayBench([1, 2, 3])]);
    const flat = second.text.replace(/\n +/g, " ");
    const m = /^Since v1: - (the -\d+\.\d% regression that v1 had on TCP_RR container 1 B is not confirmed \(now -\d+\.\d% noisy\))$/m.exec(flat);
    assert.ok(m, `no Since v1 line in:\n${second.text}`);
    assert.match(second.text, /^Details: https:\/\/bench\.example\.org\/pb\/runs\/flow-since-2$/m);

    // One path: the dashboard's series page says the same words from the same stored verdicts.
    const view = await loadSeriesView(db, v2.id);
    assert.deepEqual(view?.versions.map((v) => v.flow?.id), ["flow-since-1", "flow-since-2"]);
    assert.deepEqual(
      describeSeriesChanges(view!.versions, (v) => v.flow?.finishedAt != null).map((c) => c.lines),
      [[m[1]]],
    );

    // Patchwork's checks link to the run page of the flow they report.
    const targets = new Set(pw.checks.map((c) => c.target_url));
    assert.deepEqual([...targets].sort(), [`${PUBLIC}/runs/flow-since-1`, `${PUBLIC}/runs/flow-since-2`]);
  });

  test("a v3 whose v2 never finished a flow is compared with v2's predecessor that ran; a series with no earlier stored version has none", async () => {
    const v3: Series = { ...v1, id: `${v1.id}-v3`, version: 3, previousVersion: `${v1.id}-v2b` };
    const v2b: Series = { ...v1, id: `${v1.id}-v2b`, version: 2, previousVersion: v1.id };
    await saveSeries(db, v2b, new Map());
    await createFlowIfAbsent(db, { id: "flow-since-2b", seriesId: v2b.id, tree: "net-next", base: null, plan: "{}" });
    const third = await runReport(v3, "flow-since-3", [delackApplied(), netperfDelayBench()]);
    assert.match(third.text, /^Since v1: no verdict changed\.$/m);
    const orphan = await runReport({ ...v1, id: `${v1.id}-orphan`, version: 4, previousVersion: "not-stored" }, "flow-since-4", [delackApplied()]);
    assert.doesNotMatch(orphan.text, /Since v/);
  });

  test("b4-check links the run page when web.publicUrl is set; --url still wins", async () => {
    const cfg = join(dir, "config");
    mkdirSync(join(cfg, "trees"), { recursive: true });
    writeFileSync(join(cfg, "patchbench.yaml"), `trees: [net-next]\ndefaultTree: net-next\nweb:\n  publicUrl: ${PUBLIC}\n`);
    writeFileSync(join(cfg, "trees", "net-next.yaml"), "name: net-next\nurl: unused\nlists: [netdev@vger.kernel.org]\n");
    const mail = seriesMails(DELACK_FILES)[1]!;
    const b4 = await runCli(["--config", cfg, "--data-dir", dir, "b4-check"], {}, undefined, mail);
    assert.equal(b4.code, 0, b4.stderr);
    const check = JSON.parse(b4.stdout) as { url: string; summary: string };
    assert.match(check.url, /^https:\/\/bench\.example\.org\/pb\/runs\/flow-since-\d$/, b4.stdout);
    const given = await runCli(["--config", cfg, "--data-dir", dir, "b4-check", "--url", "https://ci.example.org/{flow}"], {}, undefined, mail);
    assert.match((JSON.parse(given.stdout) as { url: string }).url, /^https:\/\/ci\.example\.org\/flow-since-\d$/);
  });

  test("a later run of v1 withdrawn before any stage ran is passed over: v1 is read from the run that ran", async () => {
    const a: Series = { ...v1, id: `${v1.id}-w` };
    const b: Series = { ...v2, id: `${v2.id}-w`, previousVersion: a.id };
    await runReport(a, "flow-since-w1", [delackApplied(), netperfDelayBench()]);
    await new Promise((r) => setTimeout(r, 5));
    await createFlowIfAbsent(db, { id: "flow-since-w1-rerun", seriesId: a.id, tree: "net-next", base: null, plan: "{}" });
    await setFlowStatus(db, "flow-since-w1-rerun", "superseded", true);
    const second = await runReport(b, "flow-since-w2", [delackApplied(), netperfDelayBench([1, 2, 3])]);
    assert.match(second.text.replace(/\n +/g, " "), /^Since v1: - the -\d+\.\d% regression that v1 had on TCP_RR container 1 B is not confirmed/m, second.text);
  });
});
