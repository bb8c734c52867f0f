/**
 * Writes one finished flow of a store as a JSON fixture (series, stage results, raw samples),
 * so a golden test renders it again without the run (reportOfStoredFlow):
 *   node --import tsx scripts/record-flow.ts <patchbench.sqlite> <flow id> <out.json>
 * Paths of the recording machine (temporary folders, artifacts) stay as they were recorded.
 */
import { writeFileSync } from "node:fs";
import { openStore } from "../src/store/open-store.ts";
import { loadStoredFlow } from "../src/workers/build-flow-report.ts";

const [storePath, flowId, out] = process.argv.slice(2);
if (!storePath || !flowId || !out) {
  process.stderr.write("usage: record-flow.ts <patchbench.sqlite> <flow id> <out.json>\n");
  process.exit(64);
}
const db = await openStore(storePath);
try {
  const flow = await loadStoredFlow(db, flowId);
  if (!flow) throw new Error(`no flow ${flowId} (with its series) in ${storePath}`);
  writeFileSync(out, `${JSON.stringify(flow, null, 1)}\n`);
  process.stderr.write(`${out}: ${flow.runs.length} stage results, ${flow.samples.length} samples\n`);
} finally {
  await db.destroy();
}
