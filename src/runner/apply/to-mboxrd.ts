/**
 * Wrap raw RFC 5322 messages as an mboxrd stream for `git am
 * --patch-format=mboxrd`: a `From ` separator per message and every body line
 * matching /^>*From / gets one more '>'. Bytes are preserved (latin1 maps
 * each byte to one code unit).
 */
export function toMboxrd(messages: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of messages) {
    let text = Buffer.from(m).toString("latin1");
    // A message that already starts with an mbox separator keeps its own.
    if (text.startsWith("From ")) text = text.slice(text.indexOf("\n") + 1);
    const quoted = text.replace(/^(>*From )/gm, ">$1");
    parts.push(Buffer.from("From mboxrd@z Thu Jan  1 00:00:00 1970\n", "latin1"));
    parts.push(Buffer.from(quoted.endsWith("\n") ? quoted : `${quoted}\n`, "latin1"));
    parts.push(Buffer.from("\n", "latin1"));
  }
  return Buffer.concat(parts);
}
