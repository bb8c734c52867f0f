import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FIXTURES } from "../../../test/helpers/fixtures.ts";
import { assembleMailbox } from "./assemble-mailbox.ts";
import { parseSubject } from "./parse-subject.ts";
import { readMailbox } from "./read-mailbox.ts";
import { splitMbox } from "./split-mbox.ts";
import { createRng } from "../../domain/create-rng.ts";

/** The project's seeded PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  const r = createRng(seed);
  return () => r.next();
}

function mutate(src: Uint8Array, rand: () => number): Buffer {
  const buf = Buffer.from(src);
  const text = () => buf.toString("latin1");
  switch (Math.floor(rand() * 6)) {
    case 0: {
      // byte flips
      const n = 1 + Math.floor(rand() * 20);
      for (let i = 0; i < n; i++) buf[Math.floor(rand() * buf.length)] = Math.floor(rand() * 256);
      return buf;
    }
    case 1:
      return buf.subarray(0, Math.floor(rand() * buf.length));
    case 2: {
      // delete a header line
      const lines = text().split("\n");
      const end = Math.max(1, lines.indexOf(""));
      lines.splice(Math.floor(rand() * end), 1);
      return Buffer.from(lines.join("\n"), "latin1");
    }
    case 3: {
      // duplicate a header line
      const lines = text().split("\n");
      const end = Math.max(1, lines.indexOf(""));
      const i = Math.floor(rand() * end);
      lines.splice(i, 0, lines[i] ?? "");
      return Buffer.from(lines.join("\n"), "latin1");
    }
    case 4: {
      // splice random bytes in
      const at = Math.floor(rand() * buf.length);
      const junk = Buffer.alloc(1 + Math.floor(rand() * 64));
      for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(rand() * 256);
      return Buffer.concat([buf.subarray(0, at), junk, buf.subarray(at)]);
    }
    default: {
      // break threading headers / the content type
      return Buffer.from(
        text()
          .replace(/^(In-Reply-To|References|Message-I[dD]):/m, "X-Broken:")
          .replace(/^Content-Type: text\/plain/m, "Content-Type: multipart/mixed; boundary=zz"),
        "latin1",
      );
    }
  }
}

describe("fuzz: mutated real mails through read + parse + group", () => {
  const corpus = readMailbox(join(FIXTURES, "mail")).messages.map((m) => m.raw);

  it("never throws and stays fast (3,000 mutated mails, seeded)", async () => {
    const rand = rng(20250610);
    const mutated: Buffer[] = [];
    for (let i = 0; i < 3000; i++) mutated.push(mutate(corpus[Math.floor(rand() * corpus.length)]!, rand));
    const started = performance.now();
    for (let batch = 0; batch < mutated.length; batch += 300) {
      const r = await assembleMailbox(mutated.slice(batch, batch + 300), { now: 0 });
      assert.ok(Array.isArray(r.series));
      for (const s of r.series) assert.ok(s.total >= 0 && s.missing.every((m) => m >= 1 && m <= s.total));
    }
    const ms = performance.now() - started;
    assert.ok(ms < 60_000, `took ${Math.round(ms)} ms`);
  });

  it("mutated mboxes split without throwing", () => {
    const rand = rng(7);
    for (let i = 0; i < 200; i++) {
      const box = Buffer.concat(corpus.slice(0, 20).map((m) => Buffer.concat([Buffer.from("From x@y Thu Jan  1 00:00:00 1970\n"), m, Buffer.from("\n")])));
      const r = splitMbox(mutate(box, rand), `fuzz-${i}`);
      assert.ok(r.messages.length + r.quarantined.length >= 0);
    }
  });

  it("subject grammar on random strings", () => {
    const rand = rng(3);
    const alphabet = "[]:/ ,0123456789vVPATCHRFCRe-net";
    for (let i = 0; i < 5000; i++) {
      let s = "";
      const n = Math.floor(rand() * 60);
      for (let j = 0; j < n; j++) s += alphabet[Math.floor(rand() * alphabet.length)];
      const p = parseSubject(s);
      assert.ok(p.version >= 0);
    }
  });
});
