import assert from "node:assert/strict";
import { test } from "node:test";
import { readFixture } from "../../test/helpers/fixtures.ts";
import { describeNonSeries, describeWebPage } from "./describe-input.ts";

test("one reply and nothing else reads as a web page copy", () => {
  const line = describeNonSeries({ read: 1, series: [], replies: [{ kind: "other" }], quarantined: [] });
  assert.equal(line, "1 mail, a reply, no patch series: is this a web page copy? Download the raw message or the thread's mbox from lore (…/raw or …/t.mbox.gz)");
});

test("a quarantined only mail says why and where to look", () => {
  const line = describeNonSeries({ read: 1, series: [], replies: [], quarantined: [{ messageId: null, reason: "missing Message-ID header" }] });
  assert.equal(line, "1 mail, 1 quarantined (missing Message-ID header), no patch series: see `patchbench quarantine list` for each mail and why");
});

test("a lore page copied as text is named as such, by the mark it carries (real page copies)", () => {
  const views: [string, string][] = [
    ["seed-00-cover.html-view.excerpt.txt", '"help / color / mirror / Atom feed"'],
    ["seed-thread-bpf-T-view.excerpt.txt", '"help / color / mirror / Atom feed"'],
    ["seed-02-busy-poll.lore-page.txt", '"[thread overview]" after Date:'],
  ];
  for (const [file, mark] of views) {
    assert.equal(describeWebPage(readFixture("mail", file).toString()), `text copied from a lore web page (${mark})`, file);
  }
  assert.equal(describeWebPage("<!DOCTYPE html><html><body></body></html>"), "a web page (HTML)");
});

test("mail is not a web page, even when its body quotes one", () => {
  const quoting = "From ada@example.org Fri Jun 12 01:14:52 2026\nFrom: Ada <ada@example.org>\nSubject: Re: x\n\n> help / color / mirror / Atom feed\n";
  assert.equal(describeWebPage(quoting), null);
  assert.equal(describeWebPage("From: Ada <ada@example.org>\nMessage-ID: <a@b>\nDate: Fri, 12 Jun 2026 01:14:52 +0000\n\nbody\n"), null);
});

test("text that only looks like a header block is not taken for a reply", () => {
  const line = describeNonSeries({ read: 1, series: [], replies: [], quarantined: [{ messageId: null, reason: "not a mail: no From: or Subject: header" }] });
  assert.equal(line, "1 mail, 1 quarantined (not a mail: no From: or Subject: header), no patch series: give the series' mbox, a maildir, or `git format-patch` output");
});
