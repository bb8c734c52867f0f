import { findHeaderEnd } from "../mail/parse-message.ts";

/**
 * The value of a mail's `X-Patchwork-Hint` header, lower-cased (null:
 * none). Patchwork drops a mail whose hint is `ignore` without storing it
 * (patchwork/parser.py; documented in its usage guide); patchbench treats
 * a series with such a mail the same way.
 */
export function patchworkHint(raw: Uint8Array): string | null {
  const [end] = findHeaderEnd(raw);
  const head = Buffer.from(raw.buffer, raw.byteOffset, Math.min(end, raw.byteLength)).toString("latin1");
  const m = /^x-patchwork-hint:[ \t]*((?:.*)(?:\r?\n[ \t].*)*)/im.exec(head);
  return m ? m[1]!.replace(/\r?\n[ \t]+/g, " ").trim().toLowerCase() : null;
}
