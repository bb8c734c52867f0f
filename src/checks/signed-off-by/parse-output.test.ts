import assert from "node:assert/strict";
import { test } from "node:test";
import { readFixture } from "../../../test/helpers/fixtures.ts";
import { checkSignoffs } from "./parse-output.ts";

test("a real netdev patch is signed off by its author, who also sent it", () => {
  const r = checkSignoffs(readFixture("mail", "apply-6.1", "delack-1.eml").toString("latin1"));
  assert.ok(r.signers.includes("edumazet@google.com"), r.signers.join());
  assert.deepEqual(r.findings, []);
});

test("a forwarded patch needs the sender's sign-off too; a missing author sign-off is named", () => {
  const mail = (body: string) => `From: Sender <s@example.org>\nSubject: [PATCH] x\n\nFrom: Author <a@example.org>\n\n${body}\n---\ndiff --git a/x b/x\n`;
  const both = checkSignoffs(mail("fix\n\nSigned-off-by: Author <a@example.org>\nSigned-off-by: Sender <S@Example.org>"));
  assert.deepEqual(both.findings, []);
  const noSender = checkSignoffs(mail("fix\n\nSigned-off-by: Author <a@example.org>"));
  assert.deepEqual(noSender.findings.map((f) => f.code), ["MISSING_SENDER_SIGNOFF"]);
  const none = checkSignoffs(mail("fix\n\nSigned-off-by: Someone <x@example.org>"));
  assert.deepEqual(none.findings.map((f) => f.code), ["MISSING_AUTHOR_SIGNOFF", "MISSING_SENDER_SIGNOFF"]);
  // A sign-off below the --- line is not in the commit message.
  const below = checkSignoffs("From: A <a@example.org>\n\nfix\n---\nSigned-off-by: A <a@example.org>\n");
  assert.deepEqual(below.findings.map((f) => f.code), ["MISSING_AUTHOR_SIGNOFF"]);
});
