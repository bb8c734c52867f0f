import assert from "node:assert/strict";
import { test } from "node:test";
import { readFixture } from "../../../test/helpers/fixtures.ts";
import { type Claim, parseClaims, parseQuantity, parseSize } from "./parse-claims.ts";

const mail = (name: string): string => readFixture("mail", name).toString("utf8");
const row = (c: Claim): unknown[] => [c.test, c.topology, c.size, c.from, c.to, c.unit, c.ratio, c.ratioSource];

test("parseSize and parseQuantity: B/KB/16KB/K and k/M suffixes", () => {
  assert.equal(parseSize("1 B"), 1);
  assert.equal(parseSize("64 B"), 64);
  assert.equal(parseSize("1 KB"), 1024);
  assert.equal(parseSize("16KB"), 16384);
  assert.equal(parseSize("16K"), 16384);
  assert.equal(parseSize("1 MB"), 1048576);
  assert.equal(parseSize("`-c 1` (latency-bound)"), null);
  assert.equal(parseQuantity("111.9", "k"), 111900);
  assert.equal(parseQuantity("1.5", "M"), 1500000);
  assert.equal(parseQuantity("3710"), 3710);
});

test("patch 2/5 commit message: ten TCP_RR claims, continuation lines inherit test and topology", () => {
  const claims = parseClaims(mail("seed-02-busy-poll.lore-page.txt"));
  assert.equal(claims.length, 10);
  assert.deepEqual(row(claims[0] as Claim), ["TCP_RR", "loopback", 1, 111900, 1113800, "tps", 9.96, "stated"]);
  assert.deepEqual(row(claims[2] as Claim), ["TCP_RR", "loopback", 1024, 106100, 713000, "tps", 6.72, "stated"]);
  assert.deepEqual(row(claims[5] as Claim), ["TCP_RR", "container", 1, 105600, 1103700, "tps", 10.45, "stated"]);
  assert.deepEqual(row(claims[9] as Claim), ["TCP_RR", "container", 65536, 18200, 38800, "tps", 2.13, "stated"]);
  assert.deepEqual(
    claims.map((c) => c.size),
    [1, 64, 1024, 16384, 65536, 1, 64, 1024, 16384, 65536],
  );
  for (const c of claims) {
    assert.equal(c.variantFrom, "baseline TCP");
    assert.equal(c.variantTo, "splice + busy-poll");
  }
  assert.equal(claims[1]?.sourceLine, "64 B 111.7k -> 1073.3k tps (9.61x)");
});

test("cover letter (truncated mid-ratio): context from the Highlights paragraph, ratio computed", () => {
  const claims = parseClaims(mail("seed-00-cover.PARTIAL-reconstructed.eml"));
  assert.equal(claims.length, 1);
  const c = claims[0] as Claim;
  assert.deepEqual(row(c).slice(0, 6), ["TCP_RR", "loopback", 1024, 105800, 235100, "tps"]);
  assert.equal(c.ratioSource, "computed");
  assert.ok(Math.abs(c.ratio - 235.1 / 105.8) < 1e-9);
  assert.equal(c.variantFrom, "baseline TCP");
  assert.equal(c.variantTo, "splice without busy-poll");
});

test("tcp_splice README: markdown tables with k suffixes, bold ratios, topology from the header", () => {
  const claims = parseClaims(mail("seed-anchor-tcp_splice-README.md"));
  assert.equal(claims.length, 19);
  const rr = claims.filter((c) => c.sourceLine.startsWith("| ") && c.test === "TCP_RR");
  assert.equal(rr.length, 10);
  const oneKb = rr.filter((c) => c.size === 1024);
  assert.deepEqual(
    oneKb.map((c) => [c.variantFrom, c.variantTo, c.from, c.to, c.ratio, c.topology, c.unit]),
    [
      ["baseline", "splice", 105800, 235100, 2.2, "loopback", "tps"],
      ["baseline", "splice + busy-poll", 105800, 713000, 6.7, "loopback", "tps"],
    ],
  );
  const stream = claims.filter((c) => c.test === "TCP_STREAM");
  assert.deepEqual(
    stream.map((c) => [c.topology, c.size, c.from, c.to, c.unit, c.ratio]),
    [
      ["container", 1024, 3710, 21326, "Mbit/s", 5.8],
      ["container", 4096, 8084, 48834, "Mbit/s", 6],
      ["container", 16384, 26083, 27788, "Mbit/s", 1.1],
    ],
  );
  const redis = claims.filter((c) => c.test === "unknown");
  assert.deepEqual(
    redis.map((c) => [c.topology, c.size, c.from, c.to, c.unit, c.ratio]),
    [
      ["container", null, 35000, 85000, "ops/s", 2.5],
      ["container", null, 131000, 214000, "ops/s", 1.6],
    ],
  );
});

test("tcp_splice README: prose chains a → b → c give two claims each, ratios computed", () => {
  const claims = parseClaims(mail("seed-anchor-tcp_splice-README.md")).filter((c) => !c.sourceLine.startsWith("|"));
  assert.deepEqual(
    claims.map((c) => [c.test, c.topology, c.size, c.from, c.to, c.unit, c.variantTo, c.ratioSource]),
    [
      ["TCP_RR", "container", 1024, 100400, 233900, "tps", "splice", "computed"],
      ["TCP_RR", "container", 1024, 100400, 704900, "tps", "splice + busy-poll", "computed"],
      // The Mbit/s of the TCP_STREAM table just above must not leak into this RR line.
      ["TCP_RR", "loopback", 1024, 95700, 223700, "tps", "the splice path", "computed"],
      ["TCP_RR", "loopback", 1024, 95700, 715500, "tps", null, "computed"],
    ],
  );
});

test("not claims: version arrows, refcounts, tables without numbers", () => {
  const text = [
    "v5 -> v6: rebased",
    "refcount goes 1 -> 2 here",
    "| option | meaning |",
    "|---|---|",
    "| `--ports a,b,c` | only splice flows |",
    "",
    "UDP_RR 64 B 50k -> 55k (1.1x)",
  ].join("\n");
  const claims = parseClaims(text);
  assert.deepEqual(claims.map(row), [["UDP_RR", null, 64, 50000, 55000, null, 1.1, "stated"]]);
});
