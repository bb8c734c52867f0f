import assert from "node:assert/strict";
import { test } from "node:test";
import { patchworkHint } from "./patchwork-hint.ts";

const mail = (head: string) => Buffer.from(`${head}Subject: [PATCH] x\r\nMessage-ID: <a@x>\r\n\r\nX-Patchwork-Hint: ignore\r\n`);

test("X-Patchwork-Hint is read from the header block only, any case, folded or not", () => {
  assert.equal(patchworkHint(mail("X-Patchwork-Hint: ignore\r\n")), "ignore");
  assert.equal(patchworkHint(mail("x-patchwork-hint:IGNORE\r\n")), "ignore");
  assert.equal(patchworkHint(mail("X-Patchwork-Hint:\r\n ignore\r\n")), "ignore");
  assert.equal(patchworkHint(Buffer.from("X-Patchwork-Hint: ignore\n\nbody\n")), "ignore");
  // The same line in the body is not a header.
  assert.equal(patchworkHint(mail("")), null);
  assert.equal(patchworkHint(mail("X-Patchwork-Hint-Other: ignore\r\n")), null);
});
