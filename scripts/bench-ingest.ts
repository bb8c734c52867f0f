/**
 * Mail ingest benchmark (`npm run bench:ingest`).
 *
 * 1. Builds a corpus of >= 50,000 mails from the real fixture mails: each copy
 *    of the fixture set gets fresh Message-IDs, and In-Reply-To/References are
 *    rewritten to match, so threads stay threads; bodies are untouched. Written
 *    as one mboxrd file in a temp dir.
 * 2. In a fresh child process (so corpus building does not pollute peak RSS),
 *    scripts/bench-ingest-measure.ts bundled as bin/patchbench.js runs the
 *    product (scripts/build.mjs): index the mbox by offsets (read in chunks,
 *    never whole), then parse+classify+assemble (assembleMailbox over the
 *    offsets, each message loaded from the file when parsed) on one core;
 *    reports messages/s and the peak RSS (VmHWM).
 * 3. Python's standard `email` parser over the same mails, policy=compat32 and
 *    policy=default (parse + subject/Message-ID + text body), in its own process.
 * Prints only measured numbers.
 */
import { execFile } from "node:child_process";
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { readMailbox } from "../src/ingest/mail/read-mailbox.ts";
import { writeMboxrd } from "../src/ingest/mail/write-mboxrd.ts";
import { FIXTURES } from "../test/helpers/fixtures.ts";
import { bundle } from "./build.mjs";
import type { Measured } from "./bench-ingest-measure.ts";

const run = promisify(execFile);
const TARGET = Number(process.env.BENCH_MESSAGES ?? 50_000);


/** Rewrite `<id>` tokens in the threading headers of one mail (header block only). */
function rewriteIds(raw: Uint8Array, prefix: string): Buffer {
  const buf = Buffer.from(raw);
  let end = buf.indexOf("\n\n");
  const crlf = buf.indexOf("\r\n\r\n");
  if (end < 0 || (crlf >= 0 && crlf < end)) end = crlf;
  if (end < 0) end = buf.length;
  const head = buf.toString("latin1", 0, end);
  const rewritten = head.replace(
    /^(Message-I[dD]|In-Reply-To|References|X-Microsoft-Original-Message-ID):((?:.*)(?:\r?\n[ \t].*)*)/gim,
    (_all, name: string, value: string) => `${name}:${value.replace(/<([^<>\s]+)>/g, `<${prefix}$1>`)}`,
  );
  return Buffer.concat([Buffer.from(rewritten, "latin1"), buf.subarray(end)]);
}

function buildCorpus(path: string): { messages: number; bytes: number; fixtureMails: number } {
  const base = readMailbox(join(FIXTURES, "mail")).messages.map((m) => m.raw);
  const copies = Math.ceil(TARGET / base.length);
  const raws: Buffer[] = [];
  for (let k = 0; k < copies; k++) {
    for (const raw of base) raws.push(rewriteIds(raw, `b${k}.`));
  }
  const box = writeMboxrd(raws);
  writeFileSync(path, box);
  // On disk before anything is timed: writeback of 200 MB would land in the first measurement.
  const fd = openSync(path, "r");
  fsyncSync(fd);
  closeSync(fd);
  return { messages: raws.length, bytes: box.length, fixtureMails: base.length };
}

const PYTHON = String.raw`
import email, email.policy, re, resource, sys, time, json
path, which = sys.argv[1], sys.argv[2]
data = open(path, 'rb').read()
parts = re.split(rb'(?m)^From mboxrd@z [^\n]*\n', data)
msgs = []
for p in parts:
    if not p:
        continue
    if p.endswith(b'\n\n'):
        p = p[:-1]
    msgs.append(re.sub(rb'(?m)^>(>*From )', rb'\1', p))
policy = email.policy.compat32 if which == 'compat32' else email.policy.default
t = time.perf_counter()
for raw in msgs:
    m = email.message_from_bytes(raw, policy=policy)
    subject = m['subject']
    mid = m['message-id']
    if which == 'compat32':
        body = None
        for part in m.walk():
            if part.get_content_type() == 'text/plain':
                body = part.get_payload(decode=True)
                break
    else:
        try:
            b = m.get_body(preferencelist=('plain',))
            body = b.get_content() if b is not None else None
        except Exception:
            body = None
dt = time.perf_counter() - t
hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')]
peak = int(hwm[0].split()[1]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({'messages': len(msgs), 'seconds': dt, 'perSecond': len(msgs) / dt, 'maxRssMB': peak}))
`;

async function measurePython(path: string, which: "compat32" | "default"): Promise<Measured> {
  const { stdout } = await run("python3", ["-c", PYTHON, path, which], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout) as Measured;
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "pb-bench-ingest-"));
  try {
    // BENCH_CORPUS=<file>: build the corpus there once and keep it (for profiling).
    const path = process.env.BENCH_CORPUS ?? join(dir, "corpus.mbox");
    const corpus = buildCorpus(path);
    console.log(
      `corpus: ${fmt(corpus.messages)} mails (${fmt(corpus.fixtureMails)} fixture mails × ${fmt(corpus.messages / corpus.fixtureMails)}), ${fmt(corpus.bytes / 1048576, 1)} MB mboxrd`,
    );
    const root = join(dirname(fileURLToPath(import.meta.url)), "..");
    // The measured code as patchbench runs it: bundled by esbuild like bin/patchbench.js's
    // dist/patchbench.mjs (scripts/build.mjs), in plain node; and, for comparison, the sources
    // through the tsx loader (development), whose loader thread adds its own heap.
    const bundled = await bundle("scripts/bench-ingest-measure.ts", join(root, "dist", "bench-ingest-measure.mjs"));
    const measure = async (v8Flags: string[], mode: "offsets" | "buffer", how: "bundle" | "tsx" = "bundle"): Promise<Measured> => {
      const entry = how === "bundle" ? [bundled] : ["--import", "tsx", join(root, "scripts", "bench-ingest-measure.ts")];
      const { stdout } = await run(process.execPath, [...v8Flags, ...entry, path, mode], { maxBuffer: 1 << 20, cwd: root });
      return JSON.parse(stdout) as Measured;
    };
    // The product row three times: its rate is the median, its peak RSS the highest of the three.
    const tries = [await measure([], "offsets"), await measure([], "offsets"), await measure([], "offsets")];
    const byRate = [...tries].sort((a, b) => a.perSecond - b.perSecond);
    const node: Measured = { ...(byRate[1] as Measured), maxRssMB: Math.max(...tries.map((t) => t.maxRssMB)), assembledRssMB: Math.max(...tries.map((t) => t.assembledRssMB ?? 0)) };
    // V8's young generation (default 16 MiB semi-spaces) is most of the slack above the live heap.
    const smallYoung = await measure(["--max-semi-space-size=2"], "offsets");
    const inMemory = await measure([], "buffer");
    const throughTsx = await measure([], "offsets", "tsx");
    const compat = await measurePython(path, "compat32");
    const dflt = await measurePython(path, "default");
    console.log(
      `patchbench: index ${fmt(node.splitSeconds ?? 0, 2)} s (not in the rate); ${fmt(node.series ?? 0)} series, ${fmt(node.replies ?? 0)} replies, ${fmt(node.quarantined ?? 0)} quarantined; peak RSS ${fmt(node.assembledRssMB ?? 0)} MB when assembly returned, ${fmt(node.maxRssMB)} MB after loading every patch's bytes again`,
    );
    const rows: [string, string, Measured][] = [
      ["patchbench parse+classify+assemble (mbox by offsets) [1]", "node", node],
      ["  same, node --max-semi-space-size=2", "node", smallYoung],
      ["  same, whole mbox in one buffer (the previous way)", "node", inMemory],
      ["  same as the first row, sources through tsx (development)", "node", throughTsx],
      ["python email, policy=compat32 (parse + subject/id/body)", "python3", compat],
      ["python email, policy=default  (parse + subject/id/body)", "python3", dflt],
    ];
    console.log(`patchbench row, 3 runs: ${tries.map((t) => `${fmt(t.perSecond)} mails/s, ${fmt(t.maxRssMB)} MB`).join("; ")}`);
    console.log("");
    console.log(`${"what".padEnd(58)} ${"mails".padStart(8)} ${"seconds".padStart(8)} ${"mails/s".padStart(9)} ${"vs ours".padStart(8)} ${"peak RSS MB".padStart(11)}`);
    for (const [label, , m] of rows) {
      const ratio = node.perSecond / m.perSecond;
      console.log(
        `${label.padEnd(58)} ${fmt(m.messages).padStart(8)} ${fmt(m.seconds, 2).padStart(8)} ${fmt(m.perSecond).padStart(9)} ${(m === node ? "1.00×" : `${fmt(ratio, 2)}×`).padStart(8)} ${fmt(m.maxRssMB, 0).padStart(11)}`,
      );
    }
    console.log("");
    console.log(`goal ≥ 10,000 mails/s: ${node.perSecond >= 10_000 ? "met" : "NOT met"} (${fmt(node.perSecond)}); goal ≤ 300 MB peak RSS: ${node.maxRssMB <= 300 ? "met" : "NOT met"} (${fmt(node.maxRssMB)} MB with default V8 flags, ${fmt(smallYoung.maxRssMB)} MB with --max-semi-space-size=2)`);
    console.log("[1] median rate and highest peak RSS of 3 runs. \"vs ours\" = patchbench mails/s ÷ that row's mails/s; one core each;");
    console.log("shared VM, numbers vary run to run.");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
