import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type SourceConfig, sourceSchema } from "../../src/config/schema.ts";
import { assembleMailbox } from "../../src/ingest/mail/assemble-mailbox.ts";
import { getCursor } from "../../src/store/cursor-repository.ts";
import { type Db, openStore } from "../../src/store/open-store.ts";
import { createSourcePoller, sourceLabel } from "../../src/workers/mail-poller.ts";
import { startFakePatchwork, type FakePatchwork } from "../helpers/fake-patchwork.ts";
import { readFixture } from "../helpers/fixtures.ts";
import { DELACK_FILES, seriesMails, seriesOf } from "./mail-fixture-results.ts";

/**
 * `sources: - kind: patchwork` against the local patchwork (every request
 * checked against its API description): series-completed events after a
 * stored cursor, each series' mbox read from patchwork and assembled by the
 * same ingest code as list mail; the cursor survives a restart.
 */
let pw: FakePatchwork;
let dir: string;
let db: Db;
let source: SourceConfig;

before(async () => {
  const mbox = seriesMails(DELACK_FILES)
    .map((b) => `From mboxrd@z Thu Jan  1 00:00:00 1970\n${b.toString("utf8").replace(/\r\n/g, "\n").replace(/\n?$/, "\n")}`)
    .join("");
  pw = await startFakePatchwork({ mboxes: [mbox] });
  dir = mkdtempSync(join(tmpdir(), "pb-pw-source-"));
  db = await openStore(join(dir, "store.sqlite"));
  source = sourceSchema.parse({ kind: "patchwork", url: pw.url, project: pw.project.linkName, intervalSec: 10 });
});
after(async () => {
  assert.deepEqual(pw.problems, [], "every request and answer fits patchwork's API description");
  await pw.close();
  await db?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

test("a completed series read through patchwork is the same series as the list's copy; nothing twice after a restart", async () => {
  const batch = await createSourcePoller(source, { db, dataDir: dir }).collect();
  assert.equal(batch.mails.length, 4, batch.note);
  const fromPatchwork = (await assembleMailbox(batch.mails.map((m) => Buffer.from(m.raw)))).series.find((s) => s.kind === "patch")!;
  const fromList = await seriesOf(DELACK_FILES);
  assert.equal(fromPatchwork.id, fromList.id, "one series whichever way it came");
  assert.equal(fromPatchwork.patches.length, 3);
  await batch.commit();
  assert.ok(await getCursor(db, sourceLabel(source), "since"));

  // A new process: the cursor in the store, no mail again.
  const again = await createSourcePoller(source, { db, dataDir: dir }).collect();
  assert.equal(again.mails.length, 0, again.note);
  await again.commit();

  // Later series (v1 and v2 of patchwork's own test series) arrive on the next poll.
  pw.addMbox(readFixture("mail/patchwork", "series-revision-basic.mbox").toString("utf8"));
  const later = await createSourcePoller(source, { db, dataDir: dir }).collect();
  assert.equal(later.mails.length, 6, later.note);
  const titles = (await assembleMailbox(later.mails.map((m) => Buffer.from(m.raw)))).series.map((s) => `v${s.version} ${s.title}`).sort();
  assert.deepEqual(titles, ["v1 A sample series", "v2 A sample series"]);
  await later.commit();
  assert.equal((await createSourcePoller(source, { db, dataDir: dir }).collect()).mails.length, 0);
  // The events were asked for with a cursor, never the whole history.
  const eventQueries = pw.requests.filter((r) => r.operationId === "events_list");
  assert.ok(eventQueries.every((r) => /since=/.test(r.path)));
});
