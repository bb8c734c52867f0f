/**
 * Raw messages → one mboxrd file for `git am --patch-format=mboxrd` /
 * `git mailsplit --mboxrd` (FACTS.md: lore serves mboxrd). Every line matching
 * `^>*From ` gets one more `>`, so splitting and unquoting gives the bytes back.
 * Pure.
 */
const SEPARATOR = Buffer.from("From mboxrd@z Thu Jan  1 00:00:00 1970\n", "latin1");

function quoteFromLines(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  let last = 0;
  while (pos < raw.length) {
    let end = raw.indexOf(10, pos);
    if (end < 0) end = raw.length;
    let q = pos;
    while (q < end && raw[q] === 62) q++;
    if (raw.toString("latin1", q, Math.min(q + 5, end)) === "From ") {
      parts.push(raw.subarray(last, pos), Buffer.from(">"));
      last = pos;
    }
    pos = end + 1;
  }
  if (parts.length === 0) return raw;
  parts.push(raw.subarray(last));
  return Buffer.concat(parts);
}

export function writeMboxrd(raws: readonly Uint8Array[]): Buffer {
  const out: Buffer[] = [];
  for (const r of raws) {
    const whole = Buffer.isBuffer(r) ? r : Buffer.from(r.buffer, r.byteOffset, r.byteLength);
    // A message that starts with its own mbox separator (`git format-patch` output) gets ours instead.
    const raw = whole.toString("latin1", 0, 5) === "From " ? whole.subarray(whole.indexOf(10) < 0 ? whole.length : whole.indexOf(10) + 1) : whole;
    out.push(SEPARATOR, quoteFromLines(raw));
    // A message that does not end in a newline gets one, then the separating empty line.
    if (raw.length === 0 || raw[raw.length - 1] !== 10) out.push(Buffer.from("\n"));
    out.push(Buffer.from("\n"));
  }
  return Buffer.concat(out);
}
