/**
 * The measured half of `npm run bench:ingest`, in a process of its own so that building the
 * corpus does not count in its peak RSS:
 *
 *   node dist/bench-ingest-measure.mjs <mbox> offsets|buffer
 *
 * offsets: index the mbox by offsets (read in chunks, never whole), then parse + classify +
 * assemble, each message loaded from the file when parsed; buffer: the whole mbox in one buffer,
 * messages as views into it. Prints one JSON object.
 */
import { readFileSync } from "node:fs";
import { assembleMailbox } from "../src/ingest/mail/assemble-mailbox.ts";
import { indexMboxFile } from "../src/ingest/mail/index-mbox-file.ts";
import { splitMbox } from "../src/ingest/mail/split-mbox.ts";

export interface Measured {
  messages: number;
  seconds: number;
  perSecond: number;
  maxRssMB: number;
  splitSeconds?: number;
  /** Peak RSS when assembly returned, before the patches' bytes are loaded again. */
  assembledRssMB?: number;
  series?: number;
  replies?: number;
  quarantined?: number;
}

/**
 * Peak RSS of this process image. Not getrusage's ru_maxrss: on Linux that
 * survives fork+exec, so a child spawned while the parent held the corpus
 * reported the parent's size (the first version of this script did). VmHWM
 * belongs to the exec'd image alone.
 */
function peakRssMB(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]) / 1024;
  } catch {
    /* not Linux */
  }
  return process.resourceUsage().maxRSS / 1024;
}

/** One measurement: t0 → t1 indexing or splitting (not in the rate), t1 → t2 parse + classify + assemble. */
function figures(messages: number, t0: number, t1: number, t2: number, result: { series: unknown[]; replies: unknown[]; quarantined: unknown[] }): Measured {
  const seconds = (t2 - t1) / 1000;
  return {
    messages,
    seconds,
    perSecond: messages / seconds,
    maxRssMB: peakRssMB(),
    splitSeconds: (t1 - t0) / 1000,
    series: result.series.length,
    replies: result.replies.length,
    quarantined: result.quarantined.length,
  };
}

/** The previous way, for comparison: the whole mbox in one buffer, messages as views into it. */
async function measureNodeInMemory(path: string): Promise<Measured> {
  const t0 = performance.now();
  const split = splitMbox(readFileSync(path), "corpus");
  const t1 = performance.now();
  const raws = split.messages.map((m) => m.raw);
  const result = await assembleMailbox(raws, { now: Date.parse("2030-01-01T00:00:00Z") });
  const t2 = performance.now();
  return figures(raws.length, t0, t1, t2, result);
}

async function measureNode(path: string): Promise<Measured> {
  const t0 = performance.now();
  // Offsets only: the 200 MB file is read in 8 MiB chunks, each message loaded
  // again by offset when parsed (and for the series' patches when asked), so
  // peak memory does not hold the whole mbox.
  const index = indexMboxFile(path);
  const t1 = performance.now();
  const raws = index.refs;
  const result = await assembleMailbox(raws, { now: Date.parse("2030-01-01T00:00:00Z") });
  const t2 = performance.now();
  const assembledRssMB = peakRssMB();
  // Touch every kept raw once, as git am would (they load from the file now).
  let keptBytes = 0;
  for (const s of result.series) for (const p of s.patches) keptBytes += result.raw.get(p.messageId)?.length ?? 0;
  index.close();
  if (keptBytes === 0) throw new Error("no patch bytes loaded");
  return { ...figures(raws.length, t0, t1, t2, result), assembledRssMB };
}

const [path = "", mode = "offsets"] = process.argv.slice(2);
process.stdout.write(JSON.stringify(mode === "buffer" ? await measureNodeInMemory(path) : await measureNode(path)));
