import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { z } from "zod";

/** A text file carried inside a stage result (through Redis and the store): gzip, base64, with its digest. */
export interface PackedText {
  sha256: string;
  bytes: number;
  gzipBase64: string;
}

export const packedTextSchema: z.ZodType<PackedText> = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
  gzipBase64: z.string(),
});

/** Largest text packed (a kernel .config is ~150 KB; anything far beyond is not one). */
export const PACKED_TEXT_MAX_BYTES = 4 * 1024 * 1024;

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

export function packText(text: string): PackedText {
  const raw = Buffer.from(text, "utf8");
  if (raw.length > PACKED_TEXT_MAX_BYTES) throw new Error(`text of ${raw.length} bytes is over the ${PACKED_TEXT_MAX_BYTES}-byte limit`);
  return { sha256: sha256(raw), bytes: raw.length, gzipBase64: gzipSync(raw, { level: 9 }).toString("base64") };
}

/** The text back; throws when it does not match its digest (a damaged or edited result). */
export function unpackText(p: PackedText): string {
  const raw = gunzipSync(Buffer.from(p.gzipBase64, "base64"), { maxOutputLength: PACKED_TEXT_MAX_BYTES });
  if (raw.length !== p.bytes || sha256(raw) !== p.sha256) throw new Error(`packed text does not match its sha256 ${p.sha256.slice(0, 12)}`);
  return raw.toString("utf8");
}
