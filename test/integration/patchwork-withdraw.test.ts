import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { FlowProducer, Queue } from "bullmq";
import { type Config, globalSchema, type SourceConfig, sourceSchema, treeSchema } from "../../src/config/schema.ts";
import { latestByContext, type PatchworkCheck } from "../../src/deliver/patchwork/apply-patchwork-checks.ts";
import { deliverPatchworkPending } from "../../src/deliver/patchwork/deliver-patchwork.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { createFlowCanceller } from "../../src/queue/cancel-flow.ts";
import { reportJobId } from "../../src/queue/job-ids.ts";
import { ORCHESTRATOR_QUEUE } from "../../src/queue/queue-names.ts";
import { type Db, openStore } from "../../src/store/open-store.ts";
import { getSeries } from "../../src/store/series-repository.ts";
import { listSeriesWithMail } from "../../src/store/patchwork-repository.ts";
import { createSourcePoller, pollOnce } from "../../src/workers/mail-poller.ts";
import { startFakePatchwork, type FakePatchwork } from "../helpers/fake-patchwork.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { AUTOTUNE_FILES, DELACK_FILES, seriesMails } from "./mail-fixture-results.ts";

/**
 * Withdrawal as patchwork users know it, on the real poll loop, a real
 * Redis and the local patchwork (every request checked against its API
 * description): a patch marked superseded in patchwork withdraws the
 * series' queued flow and ends the checks it left pending; a series
 * already accepted when it is first seen is not run; a series whose mails
 * carry `X-Patchwork-Hint: ignore` is not run.
 */
const TOKEN_ENV = "PB_TEST_PATCHWORK_WITHDRAW_TOKEN";
let pw: FakePatchwork;
let redis: TestRedis;
let dir: string;
let db: Db;
let flows: FlowProducer;
let queue: Queue;
let config: Config;

const asMbox = (mails: readonly Buffer[]) =>
  mails.map((b) => `From mboxrd@z Thu Jan  1 00:00:00 1970\n${b.toString("utf8").replace(/\r\n/g, "\n").replace(/\n?$/, "\n")}`).join("");

before(async () => {
  [pw, redis] = await Promise.all([startFakePatchwork({ mboxes: [asMbox(seriesMails(DELACK_FILES))] }), startTestRedis()]);
  process.env[TOKEN_ENV] = pw.maintainerToken;
  dir = mkdtempSync(join(tmpdir(), "pb-pw-withdraw-"));
  db = await openStore(join(dir, "store.sqlite"));
  const connection = { host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: null };
  flows = new FlowProducer({ connection, prefix: "pbt" });
  queue = new Queue(ORCHESTRATOR_QUEUE, { connection, prefix: "pbt" });
  const global = globalSchema.parse({
    dataDir: dir,
    trees: ["net-next"],
    defaultTree: "net-next",
    patchwork: { enabled: true, url: pw.url, project: pw.project.linkName, tokenEnv: TOKEN_ENV },
    // Configured, so its stored patch states count in a poll of other sources too.
    sources: [{ kind: "patchwork", url: pw.url, project: pw.project.linkName, intervalSec: 10 }],
  });
  config = {
    configDir: null,
    global: { ...global, redis: { ...global.redis, prefix: "pbt" } },
    trees: [treeSchema.parse({ name: "net-next", url: "https://git.kernel.org/pub/scm/linux/kernel/git/netdev/net-next.git", tags: ["net-next"], lists: ["netdev@vger.kernel.org"] })],
    secrets: { smtpPassword: null },
    paths: { dataDir: dir, storePath: join(dir, "store.sqlite"), store: join(dir, "store.sqlite"), workDir: join(dir, "work"), outboxDir: join(dir, "outbox") },
  };
});
after(async () => {
  delete process.env[TOKEN_ENV];
  assert.deepEqual(pw.problems, [], "every request and answer fits patchwork's API description");
  await flows?.close();
  await queue?.close();
  await pw.close();
  await redis?.stop();
  await db?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function hasGitPw(): boolean {
  try {
    execFileSync("git-pw", ["--help"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function poll(sources: SourceConfig[]) {
  const pollers = sources.map((s) => createSourcePoller(s, { db, dataDir: dir }));
  return pollOnce({ db, config, flows, log: silentLogger(), installationId: "pwtest", pollers, cancelFlow: createFlowCanceller(queue) });
}
const patchworkSource = (over: { closingStates?: string[] } = {}): SourceConfig => sourceSchema.parse({ kind: "patchwork", url: pw.url, project: pw.project.linkName, intervalSec: 10, ...over });
const flowRows = () => db.selectFrom("flows").select(["id", "series_id", "status"]).orderBy("created_at").execute();

test("a patch superseded in patchwork withdraws the series' queued flow; the checks it left pending end as 'not run: withdrawn'", async () => {
  const first = await poll([patchworkSource()]);
  assert.equal(first.flows.length, 1, first.notes.join("; "));
  const flowId = first.flows[0]!;
  assert.ok(await queue.getJob(reportJobId(flowId)), "the flow is queued in Redis");
  // A runner took the apply stage (what watchPatchworkStages hears): pending on the 3 patches.
  const series = (await getSeries(db, (await flowRows())[0]!.series_id))!;
  await deliverPatchworkPending({ db, config, log: silentLogger() }, { flowId, series, stage: "apply" });
  const patchIds = pw.series[0]!.patches.map((p) => p.id);
  assert.deepEqual(pw.checks.map((c) => `${c.patchId} ${c.context} ${c.state}`).sort(), patchIds.map((id) => `${id} patchbench-apply pending`).sort());

  // A maintainer marks patch 2 superseded, with Debian's git-pw where it is installed (a PATCH as patchwork's UI does it).
  if (hasGitPw()) {
    const repo = mkdtempSync(join(dir, "repo-"));
    execFileSync("git", ["init", "-q", repo]);
    const env = { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" };
    const args = ["--server", `${pw.url}/api/1.3`, "--project", pw.project.linkName, "--token", pw.maintainerToken, "patch", "update", "--state", "superseded", String(patchIds[1])];
    // Asynchronous: the stand-in answers from this process's event loop.
    await promisify(execFile)("git-pw", args, { cwd: repo, env, timeout: 30_000 });
    assert.ok(pw.requests.some((r) => r.operationId === "patches_partial_update" && r.status === 200), "git-pw's PATCH reached the stand-in");
  } else pw.setPatchState(patchIds[1]!, "superseded");
  await poll([patchworkSource()]);
  assert.deepEqual((await flowRows()).map((f) => [f.id, f.status]), [[flowId, "cancelled"]]);
  assert.equal(await queue.getJob(reportJobId(flowId)), undefined, "its jobs left Redis");
  for (const id of patchIds) {
    const latest = latestByContext(pw.checks.filter((c) => c.patchId === id) as unknown as PatchworkCheck[]);
    assert.deepEqual([...latest.keys()], ["patchbench-apply"], "only the context that went pending gets a check");
    const apply = latest.get("patchbench-apply")!;
    assert.equal(apply.state, "success");
    assert.equal(apply.description, "not run: withdrawn (patchwork: superseded)");
  }
  const posted = pw.checks.length;
  await poll([patchworkSource()]);
  assert.equal(pw.checks.length, posted, "nothing posted twice");
});

test("a series already accepted in patchwork when it is first seen is not run", async () => {
  const [s] = pw.addMbox(asMbox(seriesMails(AUTOTUNE_FILES)));
  pw.setPatchState(s!.patches[0]!.id, "accepted");
  const r = await poll([patchworkSource()]);
  assert.equal(r.newMails, 4, r.notes.join("; "));
  assert.deepEqual(r.flows, []);
  assert.equal((await flowRows()).length, 1, "only the first test's flow");
});

test("a series whose mails carry X-Patchwork-Hint: ignore is not run; the same mails without it are", async () => {
  const mails = seriesMails(["tcpclose-0-cover.eml", "tcpclose-1.eml", "tcpclose-2.eml", "tcpclose-3.eml"]).map((b) => b.toString("utf8"));
  const hinted = mails.map((m) => m.replace(/^Subject:/m, "X-Patchwork-Hint: ignore\nSubject:"));
  const file = join(dir, "list.mbox");
  writeFileSync(file, asMbox(hinted.map((m) => Buffer.from(m))));
  const r = await poll([{ kind: "mbox", path: file, intervalSec: 30 }]);
  assert.equal(r.newMails, 4, r.notes.join("; "));
  assert.deepEqual(r.flows, []);
  // Control: the same series (under other Message-IDs) without the header runs.
  const plain = join(dir, "plain.mbox");
  writeFileSync(plain, asMbox(mails.map((m) => Buffer.from(m.replaceAll("@google.com>", "@plain.example>")))));
  const control = await poll([{ kind: "mbox", path: plain, intervalSec: 30 }]);
  assert.equal(control.flows.length, 1, control.notes.join("; "));
});

test("a source's closingStates decide which states close a series: 'changes-requested' listed closes it, 'accepted' left out does not", async () => {
  // The autotune series again, under other Message-IDs: a series of its own.
  const mails = seriesMails(AUTOTUNE_FILES).map((b) => Buffer.from(b.toString("utf8").replaceAll("@google.com>", "@closing.example>")));
  const [s] = pw.addMbox(asMbox(mails));
  const source = patchworkSource({ closingStates: ["changes-requested"] });
  await poll([source]);
  // (Under these states the autotune series accepted above is open, and runs too.)
  const [seriesId] = await listSeriesWithMail(db, s!.patches[0]!.mail.msgid);
  const flowId = (await flowRows()).find((f) => f.series_id === seriesId)?.id;
  assert.ok(flowId, "the series runs");
  const status = async () => (await flowRows()).find((f) => f.id === flowId)?.status;
  pw.setPatchState(s!.patches[0]!.id, "accepted");
  await poll([source]);
  assert.equal(await status(), "queued", "accepted is not one of this source's closing states");
  assert.ok(await queue.getJob(reportJobId(flowId)));
  pw.setPatchState(s!.patches[1]!.id, "changes-requested");
  await poll([source]);
  assert.equal(await status(), "cancelled");
  assert.equal(await queue.getJob(reportJobId(flowId)), undefined, "its jobs left Redis");
});
