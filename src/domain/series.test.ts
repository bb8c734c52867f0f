import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { seriesRef } from "./series.ts";

describe("seriesRef", () => {
  const p = (messageId: string, carriedFrom?: number) => ({ index: 1, messageId, subject: "s", author: "a", ...(carriedFrom ? { carriedFrom } : {}) });

  it("is the cover, else the first patch", () => {
    assert.equal(seriesRef({ cover: { messageId: "c@x", subject: "s" }, patches: [p("1@x")] }), "c@x");
    assert.equal(seriesRef({ cover: null, patches: [p("1@x"), p("2@x")] }), "1@x");
    assert.equal(seriesRef({ cover: null, patches: [] }), null);
  });

  it("skips mails carried from the previous version: they stand for that version", () => {
    assert.equal(seriesRef({ cover: { messageId: "v2c@x", subject: "s", carriedFrom: 2 }, patches: [p("v2-1@x", 2), p("v3-2@x")] }), "v3-2@x");
  });
});
