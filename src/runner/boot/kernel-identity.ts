import { closeSync, openSync, readSync } from "node:fs";

/**
 * Pure: the version string an x86 bzImage carries for boot loaders (setup header field
 * `kernel_version` at 0x20e: an offset from 0x200 to a NUL-terminated string), e.g.
 * "6.1.192+ (patchbench@patchbench) #d297c3ede9e7 2025-01-01"; null when `head` is not a bzImage.
 */
export function bzImageVersion(head: Buffer): string | null {
  if (head.length < 0x210 || head.toString("latin1", 0x202, 0x206) !== "HdrS") return null;
  const at = head.readUInt16LE(0x20e) + 0x200;
  const end = head.indexOf(0, at);
  if (at >= head.length || end < 0 || end - at > 256) return null;
  const v = head.toString("latin1", at, end);
  return /^\S+ \(.*\) #\S/.test(v) ? v : null;
}

/** The version string of a bzImage file (reads its first 64 KiB). */
export function readBzImageVersion(path: string): string | null {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(65536);
    return bzImageVersion(head.subarray(0, readSync(fd, head, 0, head.length, 0)));
  } finally {
    closeSync(fd);
  }
}

/**
 * Pure: is `/proc/version` ("Linux version <release> (<user@host>) (<compiler>) #<version> <date>")
 * the running form of a bzImage's version ("<release> (<user@host>) #<version> <date>")? The
 * release and everything from "#" must agree; the compiler part is only in /proc/version.
 */
export function runsImage(imageVersion: string, procVersion: string): boolean {
  const m = /^(\S+) \([^)]*\) (#.*)$/.exec(imageVersion.trim());
  if (!m) return false;
  const proc = procVersion.trim();
  return proc.startsWith(`Linux version ${m[1]} `) && proc.endsWith(` ${m[2]}`);
}
