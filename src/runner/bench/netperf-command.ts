import type { BenchTest, Metric } from "../../domain/bench.ts";
import type { Direction } from "../../domain/verdict.ts";

/** Selectors asked of every request/response test (RT_LATENCY is 1/rate: not asked). */
export const RR_KEYS = [
  "THROUGHPUT",
  "THROUGHPUT_UNITS",
  "MEAN_LATENCY",
  "P50_LATENCY",
  "P90_LATENCY",
  "P99_LATENCY",
  "STDDEV_LATENCY",
  "ELAPSED_TIME",
  "REQUEST_SIZE",
  "RESPONSE_SIZE",
] as const;

/** Selectors asked of a bulk-transfer test (latency has no meaning there). */
export const STREAM_KEYS = ["THROUGHPUT", "THROUGHPUT_UNITS", "ELAPSED_TIME", "LOCAL_SEND_SIZE"] as const;

export function keysForTest(test: BenchTest): readonly string[] {
  return test === "TCP_STREAM" ? STREAM_KEYS : RR_KEYS;
}

export interface NetperfCommand {
  test: BenchTest;
  /** Request = response size for RR tests; send size (-m) for TCP_STREAM. */
  size: number;
  /** netserver address (127.0.0.1 or an address inside our namespaces). */
  host: string;
  port: number;
  durationSec: number;
  pinning?: { local: number; remote: number } | null;
  /** Run netperf inside this network namespace (`ip netns exec <ns>`). */
  netns?: string | null;
  /** Override the -k selectors (default: keysForTest). */
  keys?: readonly string[];
  /** Validated test-specific options of the variant (e.g. -D, -s N,N), after `--`. */
  testArgs?: readonly string[];
}

/** The argv of one netperf run: `-P 0` plus omni `-k` key=value output. */
export function buildNetperfArgv(c: NetperfCommand): string[] {
  const keys = c.keys ?? keysForTest(c.test);
  const argv: string[] = [];
  if (c.netns) argv.push("ip", "netns", "exec", c.netns);
  argv.push("netperf", "-P", "0", "-H", c.host, "-p", String(c.port), "-t", c.test, "-l", String(c.durationSec));
  if (c.pinning) argv.push("-T", `${c.pinning.local},${c.pinning.remote}`);
  argv.push("--");
  if (c.test === "TCP_STREAM") argv.push("-m", String(c.size));
  else argv.push("-r", `${c.size},${c.size}`);
  argv.push(...(c.testArgs ?? []));
  argv.push("-k", keys.join(","));
  return argv;
}

/** Which way is good: rates up, latencies down. */
export function metricDirection(key: string): Direction {
  return /LATENCY$/.test(key) ? "lower-is-better" : "higher-is-better";
}

/** The metrics a test reports, with units and direction, primary (THROUGHPUT) first. */
export function metricsForTest(test: BenchTest): Metric[] {
  if (test === "TCP_STREAM") return [{ key: "THROUGHPUT", unit: "10^6bits/s", direction: "higher-is-better" }];
  return [
    { key: "THROUGHPUT", unit: "Trans/s", direction: "higher-is-better" },
    ...(["MEAN_LATENCY", "P50_LATENCY", "P90_LATENCY", "P99_LATENCY"] as const).map(
      (key): Metric => ({ key, unit: "us", direction: metricDirection(key) }),
    ),
  ];
}
