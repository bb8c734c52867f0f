import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { test } from "node:test";
import { fixturePath, readFixture } from "../../../test/helpers/fixtures.ts";
import { checkNetperfRun, netperfErrorMessage, parseNetperfOutput } from "./parse-netperf.ts";

const fx = (name: string) => readFixture("netperf", name).toString("utf8");
const RR_KEYS = ["THROUGHPUT", "THROUGHPUT_UNITS", "MEAN_LATENCY", "P50_LATENCY", "P90_LATENCY", "P99_LATENCY", "STDDEV_LATENCY"];

test("omni -k: key=value lines, banner kept apart", () => {
  const p = parseNetperfOutput(fx("tcp_rr-loopback-1B-omni-k.txt"));
  assert.equal(p.format, "keyval");
  assert.match(p.banner ?? "", /^MIGRATED TCP REQUEST\/RESPONSE TEST/);
  assert.equal(p.throughput, 13733.73);
  assert.deepEqual(p.values, {
    THROUGHPUT: "13733.73",
    THROUGHPUT_UNITS: "Trans/s",
    MEAN_LATENCY: "72.48",
    P50_LATENCY: "30",
    P90_LATENCY: "47",
    P99_LATENCY: "1452",
    STDDEV_LATENCY: "356.28",
    LOCAL_CPU_UTIL: "-1.00",
  });
});

test("omni -k is order-free", () => {
  const lines = fx("tcp_rr-loopback-1B-omni-k.txt").trim().split("\n").slice(1).reverse().join("\n");
  const p = parseNetperfOutput(lines);
  assert.equal(p.banner, null);
  assert.equal(p.values.P99_LATENCY, "1452");
  assert.equal(p.throughput, 13733.73);
});

test("omni -o CSV with header row maps human names to selectors", () => {
  const p = parseNetperfOutput(fx("tcp_rr-loopback-1B-omni-o.txt"));
  assert.equal(p.format, "csv");
  assert.equal(p.throughput, 45005.23);
  assert.equal(p.values.THROUGHPUT_UNITS, "Trans/s");
  assert.equal(p.values.P50_LATENCY, "20");
  assert.equal(p.values.P90_LATENCY, "23");
  assert.equal(p.values.P99_LATENCY, "37");
  assert.equal(p.values.STDDEV_LATENCY, "81.04");
  assert.equal(p.values.LOCAL_CPU_UTIL, "-1.00");
});

test("-P 0 -o CSV without header is mapped by the requested keys", () => {
  const p = parseNetperfOutput("14706.40,67.94\n", { keys: ["THROUGHPUT", "MEAN_LATENCY"] });
  assert.equal(p.format, "csv");
  assert.deepEqual(p.values, { THROUGHPUT: "14706.40", MEAN_LATENCY: "67.94" });
});

test("classic TCP_RR, with banner and with -P 0", () => {
  const c = parseNetperfOutput(fx("tcp_rr-loopback-1B-classic.txt"));
  assert.equal(c.format, "classic-rr");
  assert.equal(c.throughput, 40693.03);
  assert.equal(c.values.REQUEST_SIZE, "1");
  assert.equal(c.values.ELAPSED_TIME, "3.00");
  assert.equal(c.values.THROUGHPUT_UNITS, "Trans/s");
  assert.equal(c.values.RSR_SIZE, "131072");
  const p0 = parseNetperfOutput(fx("tcp_rr-loopback-1B-P0.txt"));
  assert.equal(p0.format, "classic-rr");
  assert.equal(p0.banner, null);
  assert.equal(p0.throughput, 40404.84);
});

test("classic TCP_RR with -c -C CPU columns", () => {
  const p = parseNetperfOutput(fx("tcp_rr-loopback-1B-classic-cpuutil.txt"));
  assert.equal(p.format, "classic-rr");
  assert.equal(p.throughput, 37233.48);
  assert.equal(p.values.LOCAL_CPU_UTIL, "56.19");
  assert.equal(p.values.REMOTE_SD, "30.180");
});

test("classic TCP_STREAM (loopback and veth) and -P 0 stream rows", () => {
  const p = parseNetperfOutput(fx("tcp_stream-loopback-classic.txt"));
  assert.equal(p.format, "classic-stream");
  assert.equal(p.throughput, 10265.84);
  assert.equal(p.values.THROUGHPUT_UNITS, "10^6bits/s");
  assert.equal(p.values.LOCAL_SEND_SIZE, "16384");
  assert.equal(parseNetperfOutput(fx("container-veth-tcp_stream-classic.txt")).throughput, 6020.14);
  // Recorded here with `netperf -P 0 -t TCP_STREAM` (with and without -c -C).
  const bare = parseNetperfOutput("131072  16384  16384    1.00     16845.77   \n");
  assert.equal(bare.format, "classic-stream");
  assert.equal(bare.throughput, 16845.77);
  const cpu = parseNetperfOutput("131072  16384  16384    1.00       13671.33   64.37    64.37    0.771   0.771  \n");
  assert.equal(cpu.format, "classic-stream");
  assert.equal(cpu.values.REMOTE_CPU_UTIL, "64.37");
});

test("confidence runs: the !!! WARNING block becomes warnings, the result still parses", () => {
  const p = parseNetperfOutput(fx("tcp_rr-loopback-1B-confidence-I99_5-i10_3.txt"));
  assert.equal(p.format, "classic-rr");
  assert.equal(p.throughput, 13752.04);
  assert.ok(p.warnings.some((w) => /Desired confidence was not achieved/.test(w)));
  const k = parseNetperfOutput(fx("tcp_rr-loopback-1B-confidence-I99_5-i10_3-omni-k.txt"));
  assert.equal(k.values.THROUGHPUT_CONFID, "30.875");
  assert.equal(k.values.CONFIDENCE_ITERATION, "10");
});

test("error convention: exit 255 with the message on stdout becomes a clear problem", () => {
  const stdout = fx("error-no-netserver-port12866.txt");
  assert.equal(
    netperfErrorMessage(stdout, ""),
    "establish control: are you sure there is a netserver listening on 127.0.0.1 at port 12866?",
  );
  const r = checkNetperfRun({ code: 255, stdout, stderr: "", requestedKeys: RR_KEYS });
  assert.equal(r.ok, false);
  assert.equal(
    r.problem,
    "netperf exited 255: establish control: are you sure there is a netserver listening on 127.0.0.1 at port 12866?",
  );
  assert.equal(parseNetperfOutput(stdout).format, "unknown");
});

test("quality gates: missing keys, zero or non-numeric throughput, timeouts, signals", () => {
  const good = fx("container-veth-tcp_rr-1B-omni-k.txt");
  assert.equal(checkNetperfRun({ code: 0, stdout: good, stderr: "", requestedKeys: RR_KEYS }).ok, true);
  // The baseline runs were recorded without STDDEV_LATENCY.
  const lacks = checkNetperfRun({ code: 0, stdout: fx("container-veth-tcp_rr-1B-baseline-run1.txt"), stderr: "", requestedKeys: RR_KEYS });
  assert.equal(lacks.ok, false);
  assert.equal(lacks.problem, "netperf output lacks STDDEV_LATENCY");
  const zero = checkNetperfRun({ code: 0, stdout: "THROUGHPUT=0.00\n", stderr: "", requestedKeys: ["THROUGHPUT"] });
  assert.equal(zero.problem, "THROUGHPUT is 0.00, not > 0");
  const nan = checkNetperfRun({ code: 0, stdout: "THROUGHPUT=nan\n", stderr: "", requestedKeys: ["THROUGHPUT"] });
  assert.match(nan.problem ?? "", /not a number/);
  const empty = checkNetperfRun({ code: 0, stdout: "", stderr: "", requestedKeys: ["THROUGHPUT"] });
  assert.equal(empty.problem, "netperf output lacks THROUGHPUT");
  const to = checkNetperfRun({ code: null, timedOut: true, stdout: "", stderr: "", requestedKeys: ["THROUGHPUT"] });
  assert.equal(to.problem, "netperf timed out");
  const sig = checkNetperfRun({ code: null, signal: "SIGKILL", stdout: "", stderr: "", requestedKeys: [] });
  assert.equal(sig.problem, "netperf was killed by SIGKILL with no message");
  const other = checkNetperfRun({ code: 1, stdout: "The test you requested (BOGUS) is unknown to this netperf.\n", stderr: "", requestedKeys: [] });
  assert.equal(other.problem, "netperf exited 1: The test you requested (BOGUS) is unknown to this netperf.");
});

test("every netperf fixture parses to a positive throughput (or is the error fixture)", () => {
  const dir = fixturePath("netperf");
  const files = readdirSync(dir).filter((f) => f.endsWith(".txt"));
  assert.ok(files.length >= 50, `expected the full fixture set, found ${files.length}`);
  for (const f of files) {
    const p = parseNetperfOutput(fx(f));
    if (f.startsWith("error-")) {
      assert.equal(p.format, "unknown", f);
      continue;
    }
    const expected = f.includes("omni-k") || /-run\d\.txt$/.test(f) ? "keyval" : f.includes("omni-o") ? "csv" : f.includes("stream") ? "classic-stream" : "classic-rr";
    assert.equal(p.format, expected, f);
    assert.ok(Number.isFinite(p.throughput) && p.throughput > 0, `${f}: throughput ${p.throughput}`);
    if (expected !== "classic-stream") assert.equal(p.values.THROUGHPUT_UNITS, "Trans/s", f);
    const size = /-(\d+)(B|KB)-/.exec(f);
    if (size && expected.startsWith("classic")) {
      const bytes = Number(size[1]) * (size[2] === "KB" ? 1024 : 1);
      assert.equal(p.values.REQUEST_SIZE, String(bytes), f);
    }
    const check = checkNetperfRun({ code: 0, stdout: fx(f), stderr: "", requestedKeys: ["THROUGHPUT", "THROUGHPUT_UNITS"] });
    assert.equal(check.ok, true, `${f}: ${check.problem}`);
  }
});
