import assert from "node:assert/strict";
import { test } from "node:test";
import { readFixture } from "../../../test/helpers/fixtures.ts";
import { parseFixesTags } from "./parse-output.ts";

test("the real Fixes: tag of tcpclose patch 1 is well formed", () => {
  const r = parseFixesTags(readFixture("mail", "apply-6.1", "tcpclose-1.eml").toString("latin1"));
  assert.equal(r.tags.length, 1);
  assert.equal(r.tags[0]?.sha, "1da177e4c3f4");
  assert.match(r.tags[0]?.subject ?? "", /Linux-2\.6\.12-rc2/);
  assert.deepEqual(r.findings, []);
});

test("short shas and unquoted subjects are findings with the message line", () => {
  const text = (tag: string) => `From: a <a@x.org>\nSubject: y\n\nfix\n\n${tag}\nSigned-off-by: a <a@x.org>\n---\n`;
  assert.deepEqual(parseFixesTags(text('Fixes: 1da177e4 ("Linux-2.6.12-rc2")')).findings.map((f) => f.code), ["FIXES_SHA_SHORT"]);
  const unquoted = parseFixesTags(text("Fixes: 1da177e4c3f4 Linux-2.6.12-rc2")).findings;
  assert.deepEqual(unquoted.map((f) => [f.code, f.line]), [["FIXES_FORMAT", 6]]);
  assert.match(unquoted[0]?.message ?? "", /subject must follow/);
  assert.deepEqual(parseFixesTags(text("Fixes: the crash from last week")).findings.map((f) => f.code), ["FIXES_FORMAT"]);
});
