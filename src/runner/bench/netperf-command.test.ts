import assert from "node:assert/strict";
import { test } from "node:test";
import { buildNetperfArgv, metricDirection, metricsForTest } from "./netperf-command.ts";

test("TCP_RR on loopback, pinned", () => {
  assert.deepEqual(
    buildNetperfArgv({ test: "TCP_RR", size: 1, host: "127.0.0.1", port: 23456, durationSec: 10, pinning: { local: 0, remote: 1 } }),
    [
      "netperf", "-P", "0", "-H", "127.0.0.1", "-p", "23456", "-t", "TCP_RR", "-l", "10", "-T", "0,1", "--", "-r", "1,1",
      "-k", "THROUGHPUT,THROUGHPUT_UNITS,MEAN_LATENCY,P50_LATENCY,P90_LATENCY,P99_LATENCY,STDDEV_LATENCY,ELAPSED_TIME,REQUEST_SIZE,RESPONSE_SIZE",
    ],
  );
});

test("container topology: ip netns exec prefix, no pinning", () => {
  const argv = buildNetperfArgv({ test: "TCP_CRR", size: 64, host: "192.0.2.2", port: 30000, durationSec: 3, netns: "pb-1-ab-ca" });
  assert.deepEqual(argv.slice(0, 5), ["ip", "netns", "exec", "pb-1-ab-ca", "netperf"]);
  assert.ok(!argv.includes("-T"));
  assert.deepEqual(argv.slice(argv.indexOf("--")), ["--", "-r", "64,64", "-k", argv.at(-1)]);
  assert.ok(argv.includes("TCP_CRR"));
});

test("TCP_STREAM uses -m and throughput-only keys; UDP_RR uses -r", () => {
  const s = buildNetperfArgv({ test: "TCP_STREAM", size: 16384, host: "127.0.0.1", port: 1, durationSec: 1 });
  assert.deepEqual(s.slice(s.indexOf("--")), ["--", "-m", "16384", "-k", "THROUGHPUT,THROUGHPUT_UNITS,ELAPSED_TIME,LOCAL_SEND_SIZE"]);
  const u = buildNetperfArgv({ test: "UDP_RR", size: 1024, host: "127.0.0.1", port: 1, durationSec: 1, keys: ["THROUGHPUT"] });
  assert.deepEqual(u.slice(u.indexOf("--")), ["--", "-r", "1024,1024", "-k", "THROUGHPUT"]);
});

test("metric direction: tps up is good, latency down is good", () => {
  assert.equal(metricDirection("THROUGHPUT"), "higher-is-better");
  assert.equal(metricDirection("P99_LATENCY"), "lower-is-better");
  const m = metricsForTest("TCP_RR");
  assert.equal(m[0]?.key, "THROUGHPUT");
  assert.ok(m.slice(1).every((x) => x.direction === "lower-is-better"));
  assert.deepEqual(metricsForTest("TCP_STREAM").map((x) => x.key), ["THROUGHPUT"]);
});
