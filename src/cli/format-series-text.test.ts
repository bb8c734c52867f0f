import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FIXTURES } from "../../test/helpers/fixtures.ts";
import { assembleMailbox } from "../ingest/mail/assemble-mailbox.ts";
import { readMailbox } from "../ingest/mail/read-mailbox.ts";
import { formatSeriesText } from "./format-series-text.ts";

async function box(name: string) {
  const raws = readMailbox(join(FIXTURES, "mail", "b4", name)).messages.map((m) => m.raw);
  return assembleMailbox(raws, { now: Date.parse("2030-01-01T00:00:00Z") });
}

describe("formatSeriesText (`patchbench series` without --json)", () => {
  it("says which patches a partial re-roll carried from the previous version", async () => {
    const text = formatSeriesText(await box("trailers-followup-partial-reroll.mbox"));
    assert.equal(
      text,
      [
        "Simple cover  [v2] 2/2 patches",
        "  by Test Test <test@example.com>",
        "    1  [PATCH v2 1/2] Simple test 1",
        "    2  [PATCH v2 2/2] Simple test 2",
        "       series: Reviewed-by: Coverletter Reviewer1 <followup-reviewer1@example.com>",
        "       patch 2: Reviewed-by: Followup Reviewer1 <followup-reviewer1@example.com>",
        "Simple cover  [v3] 2/2 patches",
        "  by Test Test <test@example.com>, supersedes cover-message@example.com",
        "  partial re-roll: 1/2 and the cover carried from v2 unchanged (v3 re-sent only 2/2)",
        "    1  [PATCH v2 1/2] Simple test 1  (carried from v2)",
        "    2  [PATCH v3 2/2] Simple test 2",
        "       series: Reviewed-by: Coverletter Reviewer1 <followup-reviewer1@example.com>",
        "2 series, 2 replies, 0 quarantined",
        "",
      ].join("\n"),
    );
  });

  it("lists the trailers not attributed, with why", async () => {
    const text = formatSeriesText(await box("trailers-followup-name-parens.mbox"));
    assert.match(
      text,
      /^ {7}patch 1: not attributed: Reviewed-by: Mismatched Reviewer1 <mismatched-reviewer1@example\.net> \(sender mismatched-reviewer1@example\.com is not mismatched-reviewer1@example\.net\)$/m,
    );
    assert.match(text, /^ {7}patch 1: Tested-by: Followup Reviewer2 <followup-reviewer2@example\.com>$/m);
    assert.equal(text.match(/not attributed/g)?.length, 3);
  });
});
