import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FIXTURES } from "../../test/helpers/fixtures.ts";
import { assembleMailbox } from "../ingest/mail/assemble-mailbox.ts";
import { readMailbox } from "../ingest/mail/read-mailbox.ts";
import { supersededSeries } from "./mail-poller.ts";

describe("supersededSeries", () => {
  it("a partial re-roll supersedes the version it carried patches from, not itself", async () => {
    const raws = readMailbox(join(FIXTURES, "mail", "b4", "trailers-followup-partial-reroll.mbox")).messages.map((m) => m.raw);
    const { series } = await assembleMailbox(raws, { now: Date.parse("2030-01-01T00:00:00Z") });
    const v2 = series.find((s) => s.version === 2)!;
    const v3 = series.find((s) => s.version === 3)!;
    assert.deepEqual([...supersededSeries(series)], [[v2.id, v3.id]]);
  });
});
