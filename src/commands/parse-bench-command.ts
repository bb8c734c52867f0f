import { createHash } from "node:crypto";
import { BENCH_TESTS, type BenchTest, TOPOLOGIES, type Topology } from "../domain/bench.ts";
import { SERIES_BPF_NAME, SERIES_BPF_PROGS_DIR } from "../domain/series-bpf-program.ts";

/**
 * The `/bench` comment grammar (pure). One command line:
 *
 *   /bench [tests=TCP_RR,TCP_STREAM] [sizes=1,64,1K,16K,64K] [topology=loopback,container]
 *          [arm=busy_read=50,busy_poll=50,bpf-cgroup=PROG,tc-bpf=PROG] [rounds=N] [runner=POOL]
 *   /bench kernel=host [variant=busy_read=50] [...]
 *   /bench help
 *
 * By default a /bench measures the series: the base kernel against the candidate kernel (plus
 * an arm: the candidate with settings). kernel=host is the quick A/B of two sysctl settings on
 * the runner's own kernel.
 *
 * Only the first line that starts with "/bench" counts; everything else in
 * the comment is ignored. Keys and values are plain ASCII: look-alikes
 * (fullwidth letters, Cyrillic "а") are not silently folded — a command
 * written with them is either not a command at all or an error naming the
 * offending character.
 */

/** Sysctls a `/bench variant=` may set, by short name (an allowlist: nothing else reaches /proc/sys). */
export const VARIANT_KNOBS: Readonly<Record<string, { key: string; min: number; max: number }>> = {
  busy_read: { key: "net.core.busy_read", min: 0, max: 1000 },
  busy_poll: { key: "net.core.busy_poll", min: 0, max: 1000 },
};

export const BENCH_KEYS = ["tests", "sizes", "topology", "arm", "kernel", "variant", "rounds", "runner"] as const;
export type BenchKey = (typeof BENCH_KEYS)[number];

/** What a command asks for; absent fields keep the tree's configuration. */
export interface BenchRequest {
  tests?: BenchTest[];
  sizes?: number[];
  topologies?: Topology[];
  variant?: { knob: string; key: string; value: number };
  /**
   * A side on the candidate kernel with these sysctls and BPF programs of the series' own
   * selftests (named like "busy_read=50+bpf-cgroup=tcp_splice_sockops").
   */
  arm?: { name: string; settings: { knob: string; key: string; value: number }[]; programs: ArmProgram[] };
  /** "host": the sysctl A/B on the runner's own kernel; "series" (the default): base vs candidate kernel. */
  kernel?: "host" | "series";
  rounds?: number;
  runner?: string;
}

/** A BPF program of the candidate tree's selftests (SERIES_BPF_PROGS_DIR/<name>.c) an arm attaches. */
export interface ArmProgram {
  kind: "bpf-cgroup" | "tc-bpf";
  name: string;
}

/** An arm's name from its items: as written when it fits the 40 characters a side name has, else shortened with a hash. */
export function armName(items: readonly string[]): string {
  const full = items.join("+");
  if (full.length <= 40) return full;
  return `${full.slice(0, 31)}+${createHash("sha256").update(full).digest("hex").slice(0, 8)}`;
}

export type ParsedBenchCommand =
  | { kind: "none" }
  | { kind: "help" }
  | { kind: "run"; request: BenchRequest }
  | { kind: "error"; message: string };

/** Longest command line looked at; longer lines are refused, not truncated. */
export const MAX_COMMAND_LENGTH = 400;
/** Most values in one list (sizes=…, tests=…). */
const MAX_LIST = 16;
const MAX_SIZE = 1 << 20;

export const BENCH_HELP = [
  "Usage: /bench [tests=LIST] [sizes=LIST] [topology=LIST] [arm=KNOB=N,...]",
  "              [rounds=N] [runner=POOL]",
  "       /bench kernel=host [variant=KNOB=N] [tests=...] [sizes=...] [...]",
  "Measures the series: the base kernel against the candidate kernel (the",
  "series' own), both built and booted, with the same settings.",
  `  tests     ${BENCH_TESTS.join(", ")}`,
  "  sizes     bytes, with K for 1024: 1,64,1K,16K,64K",
  `  topology  ${TOPOLOGIES.join(", ")}`,
  `  arm       one more side: the candidate kernel with KNOB=N settings`,
  `            (${Object.keys(VARIANT_KNOBS).join(", ")}; comma-separated), compared with the`,
  "            plain candidate and with the base; bpf-cgroup=PROG (sock_ops on",
  "            the bench cgroup) and tc-bpf=PROG (tc egress, client veth) attach",
  `            ${SERIES_BPF_PROGS_DIR}/PROG.c of the series, built with it`,
  "  kernel    host: an A/B of two sysctl settings on the runner's own kernel",
  "            instead (no build; the series' code is not run)",
  "  variant   with kernel=host (or on a tree that builds no kernels): the B",
  `            side, ${Object.keys(VARIANT_KNOBS).join(" or ")}=N; A stays the tree's baseline`,
  "  rounds    rounds per side (fixed design, no adaptive extension)",
  "  runner    runner pool",
  "Examples:",
  "  /bench tests=TCP_RR sizes=1",
  "  /bench tests=TCP_RR sizes=1 topology=loopback arm=busy_read=50,busy_poll=50",
  "  /bench tests=TCP_RR sizes=1 arm=busy_read=50,bpf-cgroup=tcp_splice_sockops",
  "  /bench kernel=host variant=busy_read=50",
  "/bench help prints this.",
].join("\n");

/** Describe a character the way a reviewer can find it: U+0430 CYRILLIC-looking "а". */
function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  return `"${ch}" (U+${cp.toString(16).toUpperCase().padStart(4, "0")})`;
}

function firstNonAscii(s: string): string | null {
  for (const ch of s) if (!/^[\x21-\x7e]$/.test(ch)) return ch;
  return null;
}

/** The command line of a comment, or null when the comment holds none. */
export function findCommandLine(body: string): string | null {
  // Scan line by line without splitting a huge body at once.
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf("\n", start);
    if (end === -1) end = body.length;
    const line = body.slice(start, end).replace(/\r$/, "").trim();
    if (line === "/bench" || line.startsWith("/bench ") || line.startsWith("/bench\t")) return line;
    start = end + 1;
  }
  return null;
}

function splitList(key: string, value: string): string[] | string {
  const items = value.split(",");
  if (items.some((i) => i === "")) return `${key}: empty item in "${value}"`;
  if (items.length > MAX_LIST) return `${key}: at most ${MAX_LIST} values, got ${items.length}`;
  if (new Set(items).size !== items.length) return `${key}: a value is listed twice in "${value}"`;
  return items;
}

function parseSize(v: string): number | null {
  const m = /^([1-9][0-9]{0,6})([Kk]?)$/.exec(v);
  if (!m) return null;
  const n = Number(m[1]) * (m[2] ? 1024 : 1);
  return n >= 1 && n <= MAX_SIZE ? n : null;
}

/** Parse one comment body. Pure; never throws. */
export function parseBenchCommand(body: string): ParsedBenchCommand {
  const line = findCommandLine(body);
  if (line === null) return { kind: "none" };
  if (line.length > MAX_COMMAND_LENGTH) {
    return { kind: "error", message: `the /bench line is ${line.length} characters long; the limit is ${MAX_COMMAND_LENGTH}` };
  }
  const words = line.split(/[ \t]+/).slice(1);
  if (words.length === 1 && words[0] === "help") return { kind: "help" };
  const request: BenchRequest = {};
  const seen = new Set<string>();
  for (const word of words) {
    const odd = firstNonAscii(word);
    if (odd !== null) {
      return {
        kind: "error",
        message: `unexpected character ${describeChar(odd)} in "${word}"; only ASCII is accepted (look-alike letters are not folded)`,
      };
    }
    const eq = word.indexOf("=");
    if (eq <= 0) {
      return { kind: "error", message: `"${word}" is not key=value; valid keys: ${BENCH_KEYS.join(", ")} (or "/bench help")` };
    }
    const key = word.slice(0, eq);
    const value = word.slice(eq + 1);
    if (!(BENCH_KEYS as readonly string[]).includes(key)) {
      return { kind: "error", message: `unknown key "${key}"; valid keys: ${BENCH_KEYS.join(", ")}` };
    }
    if (seen.has(key)) return { kind: "error", message: `key "${key}" is given twice` };
    seen.add(key);
    if (value === "") return { kind: "error", message: `${key}: missing value` };
    switch (key as BenchKey) {
      case "tests": {
        const items = splitList(key, value);
        if (typeof items === "string") return { kind: "error", message: items };
        const bad = items.find((i) => !(BENCH_TESTS as readonly string[]).includes(i));
        if (bad !== undefined) return { kind: "error", message: `tests: unknown test "${bad}"; valid: ${BENCH_TESTS.join(", ")}` };
        request.tests = items as BenchTest[];
        break;
      }
      case "sizes": {
        const items = splitList(key, value);
        if (typeof items === "string") return { kind: "error", message: items };
        const sizes: number[] = [];
        for (const i of items) {
          const n = parseSize(i);
          if (n === null) return { kind: "error", message: `sizes: "${i}" is not a size; use bytes 1..${MAX_SIZE} or K (1K = 1024), e.g. 1,64,1K,16K,64K` };
          sizes.push(n);
        }
        if (new Set(sizes).size !== sizes.length) return { kind: "error", message: `sizes: a size is listed twice in "${value}"` };
        request.sizes = sizes;
        break;
      }
      case "topology": {
        const items = splitList(key, value);
        if (typeof items === "string") return { kind: "error", message: items };
        const bad = items.find((i) => !(TOPOLOGIES as readonly string[]).includes(i));
        if (bad !== undefined) return { kind: "error", message: `topology: unknown topology "${bad}"; valid: ${TOPOLOGIES.join(", ")}` };
        request.topologies = items as Topology[];
        break;
      }
      case "variant": {
        const m = /^([a-z_]+)=([0-9]{1,7})$/.exec(value);
        const knob = m ? VARIANT_KNOBS[m[1]!] : undefined;
        if (!m || !knob) {
          return { kind: "error", message: `variant: expected KNOB=N with KNOB one of ${Object.keys(VARIANT_KNOBS).join(", ")}, got "${value}"` };
        }
        const n = Number(m[2]);
        if (n < knob.min || n > knob.max) return { kind: "error", message: `variant: ${m[1]} must be in ${knob.min}..${knob.max}, got ${n}` };
        request.variant = { knob: m[1]!, key: knob.key, value: n };
        break;
      }
      case "arm": {
        const items = splitList(key, value);
        if (typeof items === "string") return { kind: "error", message: items };
        const settings: { knob: string; key: string; value: number }[] = [];
        const programs: ArmProgram[] = [];
        for (const item of items) {
          const name = item.slice(0, Math.max(0, item.indexOf("=")));
          if (name === "bpf-cgroup" || name === "tc-bpf") {
            // Only a program of the series' own selftests, by name: a comment never names a runner path.
            const prog = item.slice(name.length + 1);
            if (!SERIES_BPF_NAME.test(prog)) {
              return { kind: "error", message: `arm: ${name} takes a program of the series' ${SERIES_BPF_PROGS_DIR}, by its file name without .c (A-Z a-z 0-9 _ -), got "${prog}"` };
            }
            if (programs.some((x) => x.kind === name)) return { kind: "error", message: `arm: ${name} is given twice` };
            programs.push({ kind: name, name: prog });
            continue;
          }
          const m = /^([a-z_]+)=([0-9]{1,7})$/.exec(item);
          const knob = m ? VARIANT_KNOBS[m[1]!] : undefined;
          if (!m || !knob) return { kind: "error", message: `arm: expected KNOB=N items with KNOB one of ${Object.keys(VARIANT_KNOBS).join(", ")}, got "${item}"` };
          const n = Number(m[2]);
          if (n < knob.min || n > knob.max) return { kind: "error", message: `arm: ${m[1]} must be in ${knob.min}..${knob.max}, got ${n}` };
          if (settings.some((x) => x.knob === m[1])) return { kind: "error", message: `arm: ${m[1]} is given twice` };
          settings.push({ knob: m[1]!, key: knob.key, value: n });
        }
        request.arm = { name: armName(items), settings, programs };
        break;
      }
      case "kernel": {
        if (value !== "host" && value !== "series") return { kind: "error", message: `kernel: expected host or series, got "${value}"` };
        request.kernel = value;
        break;
      }
      case "rounds": {
        if (!/^[0-9]{1,4}$/.test(value)) return { kind: "error", message: `rounds: expected a whole number, got "${value}"` };
        request.rounds = Number(value);
        break;
      }
      case "runner": {
        if (!/^[A-Za-z0-9_-]{1,40}$/.test(value)) return { kind: "error", message: `runner: "${value}" is not a pool name (A-Z a-z 0-9 _ -)` };
        request.runner = value;
        break;
      }
    }
  }
  if (request.kernel === "host" && request.arm) return { kind: "error", message: "arm: an arm is a side on the candidate kernel; kernel=host has none (use variant= there)" };
  return { kind: "run", request };
}
