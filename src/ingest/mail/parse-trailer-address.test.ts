import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseTrailerAddress } from "./parse-trailer-address.ts";

/** Value → [name, address] as Python's email.utils.parseaddr (3.11) answers: how b4 reads a trailer. */
const PARSEADDR_CASES: [string, string, string][] = [
  ["Name <a@b.c>", "Name", "a@b.c"],
  ["Name (c) <a@b.c>", "Name (c)", "a@b.c"],
  ['"Last, First" <a@b.c>', "Last, First", "a@b.c"],
  ["Last, First <a@b.c>", "", "Last"],
  ["Name [c] <a@b.c>", "", "Name"],
  ["a@b.c", "", "a@b.c"],
  ["a@b.c (Name)", "Name", "a@b.c"],
  ["J. Doe <a@b.c>", "J. Doe", "a@b.c"],
  ["Name <a@b.c> (c)", "Name", "a@b.c"],
  ["Name: x <a@b.c>", "x", "a@b.c"],
  ["Foo Bar foo@bar.com", "", "Foo Bar foo@bar.com"],
  ["Rafał Miłecki <r@m.pl>", "Rafał Miłecki", "r@m.pl"],
  ["<a@b.c>", "", "a@b.c"],
  ["Name <a@b.c", "Name", "a@b.c"],
  ["Name@Corp <a@b.c>", "", "Name@Corp"],
  ['"Name" (c) <a@b.c>', "Name (c)", "a@b.c"],
  ["Name (c (nested)) <a@b.c>", "Name (c nested)", "a@b.c"],
  ["Name <a@b.c>, Other <d@e.f>", "Name", "a@b.c"],
  ["a@b.c, Other <d@e.f>", "", "a@b.c"],
  ["Name;x <a@b.c>", "", "Name"],
  ['Name "Q" <a@b.c>', "Name Q", "a@b.c"],
  ["Name <a @ b.c>", "Name", "a@b.c"],
  ["(c) Name <a@b.c>", "Name (c)", "a@b.c"],
  ["Name (c", "c", "Name"],
  ['Dr. J. R. "Bob" Dobbs <bob@sub.example.org>', "Dr. J. R. Bob Dobbs", "bob@sub.example.org"],
  ['"quoted\\"q" <q@x.y>', 'quoted"q', "q@x.y"],
  ["Followup Reviewer1 (corporate) <followup-reviewer1@example.com>", "Followup Reviewer1 (corporate)", "followup-reviewer1@example.com"],
  ["Followup Tester1 [corporate] <followup-tester1@example.com>", "", "Followup"],
  ["Tester2, Followup <followup-tester2@example.com>", "", "Tester2"],
  ["Name) <a@b.c>", "", "Name"],
  ["Name <a@b.c)>", "Name", "a@b.c"],
  ["HTML Junker <html-junker@example.com<mailto:html-junker@example.com>>", "HTML Junker", "html-junker@example.com"],
];

describe("parseTrailerAddress reads a trailer as b4 (Python's parseaddr) does", () => {
  for (const [value, name, address] of PARSEADDR_CASES) {
    it(value, () => {
      const r = parseTrailerAddress(value);
      assert.deepEqual([r.name, r.address], [name, address]);
    });
  }

  it("says what stopped the name when no address could be read", () => {
    assert.equal(parseTrailerAddress("Tester2, Followup <t@example.com>").problem, 'unquoted "," in the name');
    assert.equal(parseTrailerAddress("Tester1 [corp] <t@example.com>").problem, 'unquoted "[" in the name');
    assert.equal(parseTrailerAddress("Just A Name").problem, "no address");
    assert.equal(parseTrailerAddress("Name (corp) <t@example.com>").problem, undefined);
  });

  it("reads any string without throwing or hanging", () => {
    const alphabet = 'ab@.<>()[],;:"\\ x';
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 2000; i++) {
      let v = "";
      for (let n = Math.floor(rand() * 24); n > 0; n--) v += alphabet[Math.floor(rand() * alphabet.length)];
      const r = parseTrailerAddress(v);
      assert.equal(typeof r.address, "string");
    }
  });
});
