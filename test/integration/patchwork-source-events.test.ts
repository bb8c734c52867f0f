import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type SourceConfig, sourceSchema } from "../../src/config/schema.ts";
import { findPatchTargets } from "../../src/deliver/patchwork/deliver-patchwork.ts";
import { assembleMailbox } from "../../src/ingest/mail/assemble-mailbox.ts";
import { parseMessageHeaders } from "../../src/ingest/mail/parse-message.ts";
import { createPatchworkClient } from "../../src/lib/patchwork-client.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { type Db, openStore } from "../../src/store/open-store.ts";
import { listPatchworkMails } from "../../src/store/patchwork-repository.ts";
import { saveIncomingMail } from "../../src/store/series-repository.ts";
import { createSourcePoller } from "../../src/workers/mail-poller.ts";
import { startFakePatchwork, type FakePatchwork } from "../helpers/fake-patchwork.ts";
import { DELACK_FILES, seriesMails, seriesOf } from "./mail-fixture-results.ts";

/**
 * The patchwork source's other events against the local patchwork (every
 * request checked against its API description): patchwork's series and
 * patch ids kept by Message-ID and used for checks without a look-up;
 * patches of a series patchwork holds incomplete fetched one by one
 * (patch-created), a late patch completing it; patch states recorded and
 * a closing one reported.
 */
let pw: FakePatchwork;
let dir: string;
let db: Db;
let source: SourceConfig;

const asMbox = (mails: readonly Buffer[]) =>
  mails.map((b) => `From mboxrd@z Thu Jan  1 00:00:00 1970\n${b.toString("utf8").replace(/\r\n/g, "\n").replace(/\n?$/, "\n")}`).join("");
const delack = seriesMails(DELACK_FILES);

before(async () => {
  // The cover and patches 1 and 2 of 3: patchwork holds the series incomplete (no series-completed).
  pw = await startFakePatchwork({ mboxes: [asMbox(delack.slice(0, 3))] });
  dir = mkdtempSync(join(tmpdir(), "pb-pw-events-"));
  db = await openStore(join(dir, "store.sqlite"));
  source = sourceSchema.parse({ kind: "patchwork", url: pw.url, project: pw.project.linkName, intervalSec: 10 });
});
after(async () => {
  assert.deepEqual(pw.problems, [], "every request and answer fits patchwork's API description");
  await pw.close();
  await db?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** One poll as the mail poller does it: collect, store the mails, commit. */
async function poll() {
  const batch = await createSourcePoller(source, { db, dataDir: dir }).collect();
  for (const m of batch.mails) await saveIncomingMail(db, parseMessageHeaders(m.raw).messageId!, m.raw);
  await batch.commit();
  return batch;
}
const downloads = () => pw.requests.filter((r) => r.operationId === null).map((r) => r.path);

test("an incomplete series' patches come one by one, a late patch completes it; ids are kept and checks need no look-up", async () => {
  const s = pw.series[0]!;
  assert.equal(s.patches.length, 2);
  const first = await poll();
  // Its cover letter too (cover-created): the series it opens waits with it.
  assert.equal(first.mails.length, 3, first.note);
  assert.deepEqual(downloads(), [...s.patches.map((p) => `/project/${pw.project.linkName}/patch/${p.mail.msgid}/mbox/`), `/project/${pw.project.linkName}/cover/${s.cover!.mail.msgid}/mbox/`]);
  // The incomplete series assembles (and waits for its deadline) as list mail would.
  const box = await assembleMailbox(first.mails.map((m) => Buffer.from(m.raw)));
  assert.deepEqual(box.series.find((x) => x.kind === "patch")?.missing, [3]);

  // Nothing new: nothing fetched again.
  const before = downloads().length;
  assert.equal((await poll()).mails.length, 0);
  assert.equal(downloads().length, before);

  // Patch 3 arrives late: patchwork completes the series; its mbox is read once, the late patch not again alone.
  const late = pw.addPatch(s.id, asMbox([delack[3]!]));
  const second = await poll();
  assert.equal(second.mails.length, 4, second.note);
  assert.deepEqual(downloads().slice(before), [`/series/${s.id}/mbox/`]);
  assert.ok(late.id > 0);

  const series = await seriesOf(DELACK_FILES);
  const rows = await listPatchworkMails(db, { instance: pw.url, project: pw.project.linkName }, series.patches.map((p) => p.messageId));
  assert.deepEqual(
    rows.map((r) => [r.patchId, r.seriesId]).sort(),
    s.patches.map((p) => [p.id, s.id]).sort(),
    "each patch has patchwork's patch and series id",
  );
  const lookups = pw.requests.filter((r) => r.operationId === "patches_list").length;
  const client = createPatchworkClient({ url: pw.url, token: null, log: silentLogger() });
  const targets = await findPatchTargets(client, pw.project.linkName, series, silentLogger(), db);
  assert.deepEqual(targets, s.patches.map((p, i) => ({ index: i + 1, patchId: p.id })));
  assert.equal(pw.requests.filter((r) => r.operationId === "patches_list").length, lookups, "no look-up by Message-ID");
});

test("a patch superseded in patchwork is recorded and reported closed; other states are only recorded", async () => {
  const s = pw.series[0]!;
  pw.setPatchState(s.patches[0]!.id, "changes-requested");
  pw.setPatchState(s.patches[1]!.id, "superseded");
  const batch = await poll();
  assert.equal(batch.mails.length, 0);
  assert.deepEqual(batch.closed, [{ messageId: s.patches[1]!.mail.msgid, why: "patchwork: superseded" }]);
  const rows = await listPatchworkMails(db, { instance: pw.url, project: pw.project.linkName }, s.patches.map((p) => p.mail.msgid));
  assert.deepEqual(rows.map((r) => String(r.state)).sort(), ["changes-requested", "null", "superseded"]);
  // The cursor moved: the same events are not reported twice.
  assert.deepEqual((await poll()).closed, []);
});
