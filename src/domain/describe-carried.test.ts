import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeCarried } from "./describe-carried.ts";
import type { SeriesPatch } from "./series.ts";

const patch = (index: number, carriedFrom?: number): SeriesPatch => ({
  index,
  messageId: `p${index}@x`,
  subject: `[PATCH] ${index}`,
  author: "A <a@x>",
  ...(carriedFrom === undefined ? {} : { carriedFrom }),
});

describe("describeCarried", () => {
  it("names the carried patches, the cover and what this version re-sent", () => {
    assert.equal(
      describeCarried({ version: 3, total: 2, cover: { messageId: "c@x", subject: "[PATCH v2 0/2] x", carriedFrom: 2 }, patches: [patch(1, 2), patch(2)] }),
      "1/2 and the cover carried from v2 unchanged (v3 re-sent only 2/2)",
    );
    assert.equal(
      describeCarried({ version: 3, total: 4, cover: null, patches: [patch(1, 2), patch(2), patch(3, 2), patch(4)] }),
      "1/4 and 3/4 carried from v2 unchanged (v3 re-sent only 2/4, 4/4)",
    );
  });

  it("is null for a series that carries nothing", () => {
    assert.equal(describeCarried({ version: 2, total: 1, cover: { messageId: "c@x", subject: "s" }, patches: [patch(1)] }), null);
  });
});
