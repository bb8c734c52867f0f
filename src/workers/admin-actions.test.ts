import assert from "node:assert/strict";
import { test } from "node:test";
import { parseMessageHeaders } from "../ingest/mail/parse-message.ts";
import { withMessageIdHeader } from "./admin-actions.ts";

test("a released mail's Message-ID header is written first, in the line ending its header uses, and parses back", () => {
  for (const eol of ["\r\n", "\n"]) {
    const raw = Buffer.from(`From: A <a@x>${eol}Subject: [PATCH] x${eol}${eol}body${eol}`);
    const out = Buffer.from(withMessageIdHeader(raw, "synthetic-1@patchbench.invalid"));
    assert.equal(out.toString(), `Message-ID: <synthetic-1@patchbench.invalid>${eol}${raw.toString()}`);
    assert.equal(parseMessageHeaders(out).messageId, "synthetic-1@patchbench.invalid");
  }
});
