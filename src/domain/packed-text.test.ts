import assert from "node:assert/strict";
import { test } from "node:test";
import { PACKED_TEXT_MAX_BYTES, packText, unpackText } from "./packed-text.ts";

test("packed text round-trips, shrinks a .config-like text, and refuses a damaged or oversized one", () => {
  const text = Array.from({ length: 4000 }, (_, i) => (i % 3 === 0 ? `# CONFIG_X${i} is not set` : `CONFIG_Y${i}=y`)).join("\n");
  const p = packText(text);
  assert.equal(unpackText(p), text);
  assert.equal(p.bytes, Buffer.byteLength(text));
  assert.ok(p.gzipBase64.length < text.length / 3, `${p.gzipBase64.length} vs ${text.length}`);
  const other = packText(`${text}\nCONFIG_Z=y`);
  assert.throws(() => unpackText({ ...p, gzipBase64: other.gzipBase64 }), /does not match its sha256/);
  assert.throws(() => packText("x".repeat(PACKED_TEXT_MAX_BYTES + 1)), /over the/);
});
