import assert from "node:assert/strict";
import { test } from "node:test";
import { describeNonSeries } from "./describe-input.ts";

test("one reply and nothing else reads as a web page copy", () => {
  const line = describeNonSeries({ read: 1, series: [], replies: [{ kind: "other" }], quarantined: [] });
  assert.equal(line, "1 mail, a reply, no patch series: is this a web page copy? Download the raw message or the thread's mbox from lore (…/raw or …/t.mbox.gz)");
});

test("a quarantined only mail says why and where to look", () => {
  const line = describeNonSeries({ read: 1, series: [], replies: [], quarantined: [{ messageId: null, reason: "missing Message-ID header" }] });
  assert.equal(line, "1 mail, 1 quarantined (missing Message-ID header), no patch series: see `patchbench quarantine list` for each mail and why");
});
