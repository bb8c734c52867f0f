import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Config, globalSchema, treeSchema } from "../../src/config/schema.ts";
import { latestByContext, type PatchworkCheck } from "../../src/deliver/patchwork/apply-patchwork-checks.ts";
import { deliverPatchwork, deliverPatchworkPending } from "../../src/deliver/patchwork/deliver-patchwork.ts";
import type { Series } from "../../src/domain/series.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { createPatchworkClient, type PatchworkClient } from "../../src/lib/patchwork-client.ts";
import { createFlowIfAbsent } from "../../src/store/flow-repository.ts";
import { type Db, openStore } from "../../src/store/open-store.ts";
import { saveSeries } from "../../src/store/series-repository.ts";
import { startFakePatchwork, type FakePatchwork } from "../helpers/fake-patchwork.ts";
import { netperfFixtureReport } from "../helpers/netperf-fixture-report.ts";
import { DELACK_FILES, seriesMails, seriesOf } from "./mail-fixture-results.ts";

/**
 * Patchwork counts the latest check of a context, so a stage's `pending`
 * whose POST lands after the flow's final check would show for good. The
 * local patchwork (every request checked against its API description)
 * holds or fails the pending POST while the report posts its checks.
 */
const TOKEN_ENV = "PB_TEST_PATCHWORK_LATE_TOKEN";
let pw: FakePatchwork;
let dir: string;
let db: Db;
let config: Config;
let series: Series;
const log = silentLogger();

before(async () => {
  const mbox = seriesMails(DELACK_FILES)
    .map((b) => `From mboxrd@z Thu Jan  1 00:00:00 1970\n${b.toString("utf8").replace(/\r\n/g, "\n").replace(/\n?$/, "\n")}`)
    .join("");
  pw = await startFakePatchwork({ mboxes: [mbox] });
  process.env[TOKEN_ENV] = pw.maintainerToken;
  dir = mkdtempSync(join(tmpdir(), "pb-pw-late-"));
  db = await openStore(join(dir, "store.sqlite"));
  series = await seriesOf(DELACK_FILES);
  await saveSeries(db, series, new Map());
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

const report = () => netperfFixtureReport(series);
/** What patchwork shows for the apply context on each of the series' patches (its latest check). */
const shown = (context: string) =>
  pw.series[0]!.patches.map((p) => latestByContext(pw.checks.filter((c) => c.patchId === p.id) as unknown as PatchworkCheck[]).get(context)?.state ?? null);
/** A pending deliverer whose client runs `during` in place of its first back-off sleep. */
const pendingClient = (during: () => Promise<unknown>) => {
  let first = true;
  return createPatchworkClient({
    url: pw.url,
    token: pw.maintainerToken,
    log,
    sleep: async () => {
      if (first) {
        first = false;
        await during();
      }
    },
  });
};
const checksPosted = () => pw.requests.filter((r) => r.operationId === "checks_create" && r.status === 201).length;

test("a pending POST answered 502 while the report posted the final checks is not sent again: the final state shows", async () => {
  const flowId = "flow-late-502";
  await createFlowIfAbsent(db, { id: flowId, seriesId: series.id, tree: "net-next", base: null, plan: "{}" });
  pw.failNext(1, 502, { method: "POST" });
  const client = pendingClient(() => deliverPatchwork({ db, config, log }, { flowId, series, report: report() }));
  await deliverPatchworkPending({ db, config, log, client }, { flowId, series, stage: "apply" });
  assert.deepEqual(shown("patchbench-apply"), ["success", "success", "success"]);
  assert.equal(pw.checks.filter((c) => c.state === "pending").length, 0, "no pending was posted after the report");
});

test("a pending POST held in flight until after the final checks landed: the final check is posted again over it", async () => {
  const flowId = "flow-late-held";
  await createFlowIfAbsent(db, { id: flowId, seriesId: series.id, tree: "net-next", base: null, plan: "{}" });
  // The bench stage's pending, while this flow's whole report goes out (bench already shows the
  // first flow's warning, so the report posts nothing new there).
  pw.holdNext("POST", () => deliverPatchwork({ db, config, log }, { flowId, series, report: report() }));
  const before = pw.checks.length;
  await deliverPatchworkPending({ db, config, log }, { flowId, series, stage: "bench" });
  const bench = pw.checks.slice(before).filter((c) => c.context === "patchbench-bench");
  const firstPatch = pw.series[0]!.patches[0]!.id;
  assert.deepEqual(
    bench.filter((c) => c.patchId === firstPatch).map((c) => c.state),
    ["pending", "warning"],
    "the held pending landed after the final check, and the final one went out again",
  );
  assert.deepEqual(shown("patchbench-bench"), ["warning", "warning", "warning"]);
  // The two other patches' pending lost before it was sent.
  assert.equal(bench.filter((c) => c.state === "pending").length, 1);
});

test("a pending heard after the flow's report posts nothing", async () => {
  const flowId = "flow-late-after";
  await createFlowIfAbsent(db, { id: flowId, seriesId: series.id, tree: "net-next", base: null, plan: "{}" });
  await deliverPatchwork({ db, config, log }, { flowId, series, report: report() });
  const posted = checksPosted();
  await deliverPatchworkPending({ db, config, log }, { flowId, series, stage: "apply" });
  assert.equal(checksPosted(), posted);
});

test("a pending delivery that ends while the report's final check is still in flight leaves that check to the report: it is posted once", async () => {
  const flowId = "flow-late-inflight";
  await createFlowIfAbsent(db, { id: flowId, seriesId: series.id, tree: "net-next", base: null, plan: "{}" });
  const before = pw.checks.length;
  const inner = createPatchworkClient({ url: pw.url, token: pw.maintainerToken, log });
  let posts = 0;
  let release = () => {};
  let reportDone: Promise<unknown> = Promise.resolve();
  const client: PatchworkClient = {
    ...inner,
    async post<T>(path: string, body: unknown, landed?: () => Promise<boolean>) {
      const created = await inner.post<T>(path, body, landed);
      if (++posts === series.patches.length) {
        // Every pending landed: the report goes out now, its first POST held in flight while the pending delivery ends.
        const arrived = new Promise<void>((ok) =>
          pw.holdNext("POST", () => {
            ok();
            return new Promise<void>((r) => {
              release = r;
            });
          }),
        );
        reportDone = deliverPatchwork({ db, config, log }, { flowId, series, report: report() });
        await arrived;
      }
      return created;
    },
  };
  await deliverPatchworkPending({ db, config, log, client }, { flowId, series, stage: "apply" });
  release();
  await reportDone;
  const apply = pw.checks.slice(before).filter((c) => c.context === "patchbench-apply");
  assert.deepEqual(
    pw.series[0]!.patches.map((p) => apply.filter((c) => c.patchId === p.id).map((c) => c.state)),
    [
      ["pending", "success"],
      ["pending", "success"],
      ["pending", "success"],
    ],
    "each patch's final check posted once, by the report",
  );
  assert.deepEqual(shown("patchbench-apply"), ["success", "success", "success"]);
});
