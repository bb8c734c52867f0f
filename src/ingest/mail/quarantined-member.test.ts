import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { assembleMailbox } from "./assemble-mailbox.ts";
import { readMailbox } from "./read-mailbox.ts";

const dir = mkdtempSync(join(tmpdir(), "pb-flowed-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const DIFF = "--- a/f.txt\n+++ b/f.txt\n@@ -1 +1 @@\n-old\n+new\n";

function mail(n: number, subject: string, extra: string, body: string): string {
  const thread = n === 0 ? "" : "In-Reply-To: <cover@example.org>\nReferences: <cover@example.org>\n";
  return [
    `From ada@example.org Tue Jun 10 11:19:3${n} 2025`,
    "From: Ada Hacker <ada@example.org>",
    `Subject: ${subject}`,
    `Date: Tue, 10 Jun 2025 11:19:3${n} +0200`,
    `Message-ID: <p${n}@example.org>`.replace("<p0@", "<cover@"),
    `${thread}MIME-Version: 1.0`,
    `Content-Type: text/plain; charset=utf-8${extra}`,
    "",
    body,
  ].join("\n");
}

/** A hand-made thread: cover, patch 1/2, and patch 2/2 sent by a mailer that flowed its text. */
function writeMbox(): string {
  const patch = (n: number) => `Change ${n}.\n\nSigned-off-by: Ada Hacker <ada@example.org>\n---\n${DIFF}-- \n2.39.5\n`;
  const p = join(dir, "flowed.mbox");
  writeFileSync(
    p,
    [
      mail(0, "[PATCH net-next 0/2] net: two changes", "", "Two changes.\n"),
      mail(1, "[PATCH net-next 1/2] net: first", "", patch(1)),
      mail(2, "[PATCH net-next 2/2] net: second", "; format=flowed", patch(2)),
    ].join("\n"),
  );
  return p;
}

test("a format=flowed patch is quarantined and is not part of its series: the series misses that patch", async () => {
  const box = await assembleMailbox(readMailbox(writeMbox()).messages.map((m) => m.raw));
  assert.deepEqual(box.quarantined, [{ messageId: "p2@example.org", reason: "format=flowed patch would be mangled by git am" }]);
  assert.equal(box.series.length, 1);
  const [s] = box.series;
  assert.equal(s?.cover?.messageId, "cover@example.org");
  assert.deepEqual(s?.patches.map((p) => p.messageId), ["p1@example.org"]);
  assert.deepEqual(s?.missing, [2]);
  assert.equal(s?.complete, false);
  // Nor is it taken for a reply.
  assert.deepEqual(box.replies, []);
});
