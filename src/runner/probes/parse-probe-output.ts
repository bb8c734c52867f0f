import { z } from "zod";
import type { SuiteTest } from "../../domain/results.ts";

const line = z.object({
  name: z.string(),
  status: z.enum(["pass", "fail", "skip"]),
  detail: z.string(),
  durationMs: z.number(),
});

/** Pure: host-probe.py's JSON lines → suite tests; anything else is a problem. */
export function parseProbeOutput(suite: string, stdout: string, expected: readonly string[]): SuiteTest[] {
  const tests: SuiteTest[] = [];
  for (const raw of stdout.split("\n")) {
    if (!raw.trim()) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      continue;
    }
    const r = line.safeParse(parsed);
    if (r.success) tests.push({ suite, name: r.data.name, status: r.data.status, detail: r.data.detail, durationMs: r.data.durationMs });
  }
  for (const name of expected) {
    if (!tests.some((t) => t.name === name)) {
      tests.push({ suite, name, status: "error", detail: "probe printed no result (crashed?)", durationMs: 0 });
    }
  }
  return tests;
}
