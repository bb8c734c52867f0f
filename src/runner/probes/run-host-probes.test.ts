import assert from "node:assert/strict";
import { test } from "node:test";
import { parseProbeOutput } from "./parse-probe-output.ts";
import { HOST_PROBES, runHostProbes } from "./run-host-probes.ts";

test("host probes run on this kernel and report both results", async () => {
  const tests = await runHostProbes();
  assert.deepEqual(tests.map((t) => t.name).sort(), [...HOST_PROBES].sort());
  const rt = tests.find((t) => t.name === "tcp-loopback-round-trip");
  assert.equal(rt?.status, "pass", rt?.detail);
  assert.match(rt?.detail ?? "", /1000 exchanges/);
  // User-space setsockopt(SO_BUSY_POLL) works on this machine's kernel (FACTS.md).
  assert.equal(tests.find((t) => t.name === "so-busy-poll-setsockopt")?.status, "pass");
});

test("a probe that printed nothing is an error, not a pass", () => {
  const out = '{"name":"tcp-loopback-round-trip","status":"pass","detail":"ok","durationMs":1}\nTraceback...\n';
  const tests = parseProbeOutput("host-probes", out, HOST_PROBES);
  assert.equal(tests.find((t) => t.name === "so-busy-poll-setsockopt")?.status, "error");
});
