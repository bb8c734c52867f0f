import assert from "node:assert/strict";
import { test } from "node:test";
import { bzImageVersion, runsImage } from "./kernel-identity.ts";

/** A bzImage's first sectors as boot loaders read them: "HdrS" at 0x202, kernel_version at 0x20e. */
function image(version: string, magic = "HdrS"): Buffer {
  const b = Buffer.alloc(0x400);
  b.write(magic, 0x202, "latin1");
  b.writeUInt16LE(0x300 - 0x200, 0x20e);
  b.write(`${version}\0`, 0x300, "latin1");
  return b;
}

test("bzImageVersion: the setup header's string; not a bzImage or no sane string → null", () => {
  const v = "6.1.192+ (patchbench@patchbench) #d297c3ede9e7 2025-01-01";
  assert.equal(bzImageVersion(image(v)), v);
  assert.equal(bzImageVersion(image(v, "ELF\x7f")), null);
  assert.equal(bzImageVersion(image("garbage")), null);
  assert.equal(bzImageVersion(Buffer.alloc(16)), null);
});

test("runsImage: release and #version agree with /proc/version; another build or release does not", () => {
  const img = "6.1.192+ (patchbench@patchbench) #d297c3ede9e7 2025-01-01";
  const proc = (v: string, rel = "6.1.192+") => `Linux version ${rel} (patchbench@patchbench) (gcc (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #${v} 2025-01-01\n`;
  assert.equal(runsImage(img, proc("d297c3ede9e7")), true);
  assert.equal(runsImage(img, proc("0123456789ab")), false, "the other side's build");
  assert.equal(runsImage(img, proc("d297c3ede9e7", "6.1.192")), false);
  assert.equal(runsImage(img, "Linux version 6.12.0 (x@y) (gcc) #1 SMP PREEMPT_DYNAMIC Debian 6.12.0-1"), false);
});
