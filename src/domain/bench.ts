import type { Direction } from "./verdict.ts";

/** netperf tests patchbench knows how to run and parse. */
export const BENCH_TESTS = ["TCP_RR", "TCP_CRR", "TCP_STREAM", "UDP_RR"] as const;
export type BenchTest = (typeof BENCH_TESTS)[number];

export const TOPOLOGIES = ["loopback", "container", "container-bridge", "remote"] as const;
export type Topology = (typeof TOPOLOGIES)[number];

/** One change applied on the host for the duration of a variant's runs. */
export type VariantSetting =
  | { kind: "sysctl"; key: string; value: string }
  | { kind: "kernel"; ref: "base" | "candidate" }
  /** A netperf test-specific socket option (-D, -s, -S) on every run of the variant. */
  | { kind: "sockopt"; option: SockoptName; value?: string }
  /** A BPF object's sock_ops program attached to a child cgroup v2 that netperf and netserver run in. */
  | { kind: "bpf-cgroup"; object: string; program?: string; source?: BpfObjectSource; builtFrom?: string }
  /** A tc-BPF program on the egress of the client (or server) veth of namespace topologies. */
  | { kind: "tc-bpf"; object: string; section: string; side: "client" | "server"; source?: BpfObjectSource; builtFrom?: string };

/**
 * Where a BPF setting's object comes from: "runner" (default), `object` is a file on the runner;
 * "series", `object` names a program of the candidate tree's BPF selftests (series-bpf-program.ts).
 */
export type BpfObjectSource = "runner" | "series";

/**
 * How a report names a BPF setting's object: the series' source it was built from (the object
 * itself is a long path under the flow's artifacts), else the configured file.
 */
export const bpfObjectLabel = (s: { object: string; builtFrom?: string }): string => (s.builtFrom ? `${s.builtFrom} (built from the series)` : s.object);

export const SOCKOPTS = ["nodelay", "local-buffer", "remote-buffer"] as const;
export type SockoptName = (typeof SOCKOPTS)[number];

export interface Variant {
  /** Short label, e.g. "busy_read=0" or "base". */
  name: string;
  settings: VariantSetting[];
}

/** One cell of the matrix: test × size × topology (variants are compared within it). */
export interface Cell {
  test: BenchTest;
  /** Request/response size in bytes (send size for STREAM). */
  size: number;
  topology: Topology;
}

export interface Metric {
  /** netperf selector, e.g. THROUGHPUT or P99_LATENCY. */
  key: string;
  unit: string;
  direction: Direction;
}

/** One netperf run: the unit stored raw. */
export interface BenchSample {
  cell: Cell;
  variant: string;
  round: number;
  run: number;
  /** Position in the A/B order of the round (0 or 1). */
  slot: number;
  startedAt: string;
  endedAt: string;
  /** Every key=value netperf printed. */
  values: Record<string, string>;
  /** Parsed primary metric (THROUGHPUT), NaN when missing. */
  throughput: number;
  ok: boolean;
  problem?: string;
  /** Set when the run's pair was measured again (slow mode or a failed gate): kept for the record, left out of the analysis. */
  superseded?: string;
}

export function cellKey(c: Cell): string {
  return `${c.test}/${c.topology}/${c.size}`;
}
