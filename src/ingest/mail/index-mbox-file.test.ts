import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { FIXTURES } from "../../../test/helpers/fixtures.ts";
import { assembleMailbox } from "./assemble-mailbox.ts";
import { indexMboxFile } from "./index-mbox-file.ts";
import { readMailbox } from "./read-mailbox.ts";
import { splitMbox } from "./split-mbox.ts";
import { writeMboxrd } from "./write-mboxrd.ts";

describe("indexMboxFile", () => {
  const raws = readMailbox(join(FIXTURES, "mail")).messages.map((m) => m.raw);
  // A body line that mboxrd must quote, so unquoting on load is exercised too.
  raws.push(Buffer.from("From: a <a@example.org>\nMessage-ID: <q@x>\nSubject: q\n\nFrom the start\n>From quoted\n"));
  const box = writeMboxrd(raws);
  const dir = mkdtempSync(join(tmpdir(), "pb-index-mbox-"));
  const path = join(dir, "all.mbox");
  writeFileSync(path, box);

  test("small chunks give the same messages, byte for byte, as splitting the whole file", () => {
    const whole = splitMbox(box, "all.mbox");
    for (const chunkBytes of [4096, 65536, 1 << 23]) {
      const idx = indexMboxFile(path, { chunkBytes });
      try {
        assert.equal(idx.refs.length, whole.messages.length);
        assert.equal(idx.format, "mboxrd");
        idx.refs.forEach((r, i) => {
          assert.deepEqual(Buffer.from(r.load()), Buffer.from(whole.messages[i]!.raw), `message ${i} at chunk ${chunkBytes}`);
        });
        assert.deepEqual(idx.quarantined, whole.quarantined);
      } finally {
        idx.close();
      }
    }
    assert.equal(Buffer.from(splitMbox(box).messages.at(-1)!.raw).toString().includes("\nFrom the start\n>From quoted\n"), true);
  });

  test("assembling from offsets equals assembling from bytes (series, replies, raw bytes)", async () => {
    const idx = indexMboxFile(path, { chunkBytes: 65536 });
    try {
      const now = Date.parse("2030-01-01T00:00:00Z");
      const a = await assembleMailbox(splitMbox(box).messages.map((m) => m.raw), { now });
      const b = await assembleMailbox(idx.refs, { now });
      assert.deepEqual(JSON.parse(JSON.stringify(b.series)), JSON.parse(JSON.stringify(a.series)));
      // Cover texts over 4 KB are not held from the parse pass but read again from the file.
      assert.ok(a.series.some((s) => s.cover !== null && (s.text ?? "").length > 8192), "a long cover text is among the fixtures");
      assert.deepEqual(b.replies, a.replies);
      assert.deepEqual(b.quarantined, a.quarantined);
      assert.equal(b.raw.size, a.raw.size);
      assert.deepEqual([...b.raw.keys()].sort(), [...a.raw.keys()].sort());
      for (const [id, bytes] of a.raw) assert.deepEqual(Buffer.from(b.raw.get(id)!), Buffer.from(bytes));
    } finally {
      idx.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
