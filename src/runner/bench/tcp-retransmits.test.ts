import assert from "node:assert/strict";
import { test } from "node:test";
import { retransmitProblem } from "./tcp-retransmits.ts";

test("retransmitProblem: a few retransmits pass, more than 0.1% of the run's segments fail", () => {
  const rr = { test: "TCP_RR", throughput: 10_000, seconds: 3, topology: "container" };
  assert.equal(retransmitProblem(0, rr), null);
  assert.equal(retransmitProblem(3, rr), null);
  // 10k tps × 3 s × 2 segments = 60,000 segments: the limit is 60.
  assert.equal(retransmitProblem(60, rr), null);
  assert.match(retransmitProblem(61, rr) ?? "", /^61 TCP retransmits on container during the run \(over 60, 0\.1% of ~60000 segments\)$/);
  // TCP_STREAM: 10,000 Mbit/s for 1 s ≈ 863k MSS segments.
  assert.equal(retransmitProblem(500, { test: "TCP_STREAM", throughput: 10_000, seconds: 1, topology: "loopback" }), null);
  assert.match(retransmitProblem(5, { test: "TCP_RR", throughput: 100, seconds: 1, topology: "loopback" }) ?? "", /host counter/);
});
