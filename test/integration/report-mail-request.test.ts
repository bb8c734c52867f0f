import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { globalSchema, treeSchema } from "../../src/config/schema.ts";
import { deliverReportMail } from "../../src/deliver/deliver-report-mail.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { renderText } from "../../src/report/render-text.ts";
import { openStore } from "../../src/store/open-store.ts";
import { DELACK_FILES, fixtureReports, seriesOf } from "./mail-fixture-results.ts";

const dir = mkdtempSync(join(tmpdir(), "pb-reqmail-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("a report someone asked for by mail is a reply to their mail, to them, the usual recipients in copy; an unrequested one goes to the thread as usual", async () => {
  const db = await openStore(":memory:");
  try {
    const series = await seriesOf(DELACK_FILES);
    const { regression: report } = await fixtureReports();
    const tree = treeSchema.parse({ name: "bpf-next", url: "unused", lists: ["bpf@vger.kernel.org"], recipients: { to: ["author"], cc: ["list"] } });
    const config = { global: globalSchema.parse({ mail: { dryRun: true, quiet: false } }), paths: { outboxDir: join(dir, "outbox") }, secrets: { smtpPassword: null } };
    const send = (flowId: string, request: { by: string; messageId: string } | null) =>
      deliverReportMail({ db, log: silentLogger() }, { flowId, series, report, text: renderText(report), tree, config: config as never, request });

    const asked = await send("flow-asked", { by: "Maint <maint@kernel.example>", messageId: "bench-1@kernel.example" });
    // Headers unfolded (a long References line is folded).
    const m = readFileSync(asked.path!, "utf8").replace(/\r?\n[ \t]+/g, " ");
    assert.match(m, /^To: Maint <maint@kernel\.example>$/m);
    assert.match(m, /^Cc: Eric Dumazet <edumazet@google\.com>, bpf@vger\.kernel\.org$/m);
    assert.match(m, /^In-Reply-To: <bench-1@kernel\.example>$/m);
    assert.match(m, new RegExp(`^References: .*<${report.thread.inReplyTo}>.*<bench-1@kernel\\.example>$`, "m"));

    const usual = await send("flow-usual", null);
    const u = readFileSync(usual.path!, "utf8");
    assert.doesNotMatch(u, /maint@kernel\.example/);
    assert.match(u, new RegExp(`^In-Reply-To: <${report.thread.inReplyTo}>$`, "m"));
  } finally {
    await db.destroy();
  }
});
