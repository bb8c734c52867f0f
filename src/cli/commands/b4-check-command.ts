import { parseMessageHeaders } from "../../ingest/mail/parse-message.ts";
import { inputError } from "../../lib/errors.ts";
import { type B4Check, renderB4Check } from "../../report/render-b4-check.ts";
import { latestFinishedFlow } from "../../store/flow-repository.ts";
import { openStore } from "../../store/open-store.ts";
import { listSeriesMentioning } from "../../store/series-repository.ts";
import { runPageUrl } from "../../web/run-page-url.ts";
import { loadFlowReport } from "../../workers/build-flow-report.ts";
import { type GlobalFlags, loadConfigFromFlags } from "../context.ts";

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * `patchbench b4-check`: b4's external check (`review-perpatch-check-cmd` /
 * `review-series-check-cmd`). Reads one mail on stdin, finds the series it
 * belongs to in the store, and prints the latest finished flow's results as
 * `{tool, status, summary, url, details}`; url is --url, else the run's dashboard page.
 */
export async function b4CheckCommand(flags: GlobalFlags, opts: { url?: string }): Promise<number> {
  const raw = await readStdin();
  if (raw.length === 0) throw inputError("b4-check reads a mail on stdin; got nothing");
  let ids: string[];
  try {
    const h = parseMessageHeaders(raw);
    ids = [h.messageId, ...h.references, h.inReplyTo].filter((x): x is string => typeof x === "string" && x.length > 0);
  } catch (e) {
    throw inputError(`b4-check: not a mail: ${(e as Error).message}`);
  }
  if (ids.length === 0) throw inputError("b4-check: the mail has no Message-ID");
  const config = loadConfigFromFlags(flags);
  const db = await openStore(config.paths.store);
  try {
    let out: B4Check | null = null;
    for (const id of ids) {
      for (const seriesId of await listSeriesMentioning(db, id)) {
        const flow = await latestFinishedFlow(db, seriesId);
        const report = flow ? await loadFlowReport(db, flow) : undefined;
        if (report) {
          out = renderB4Check(report, { url: opts.url ? opts.url.replace("{flow}", report.id) : runPageUrl(config.global.web, report.id) });
          break;
        }
      }
      if (out) break;
    }
    const result: B4Check = out ?? {
      tool: "patchbench",
      status: "warn",
      summary: "no patchbench results for this series yet",
      url: "",
      details: "[]",
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } finally {
    await db.destroy();
  }
}
