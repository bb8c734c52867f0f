import assert from "node:assert/strict";
import { test } from "node:test";
import { scratchPostgres } from "../../test/helpers/postgres.ts";
import { STORE_BACKENDS } from "../../test/helpers/store-backends.ts";
import type { Series } from "../domain/series.ts";
import { onePatchSeries } from "../../test/helpers/one-patch-series.ts";
import { copyStore } from "./copy-store.ts";
import { setCursor } from "./cursor-repository.ts";
import { reserveDelivery } from "./delivery-repository.ts";
import { createFlowIfAbsent } from "./flow-repository.ts";
import { getTarget, setPullState, setTarget } from "./github-repository.ts";
import { type Db, openStore } from "./open-store.ts";
import { listQuarantine, quarantineMessage } from "./quarantine-repository.ts";
import { listSamples, listVerdicts, saveFlowResults } from "./result-repository.ts";
import { getRawMails, getSeries, saveSeries } from "./series-repository.ts";
import { listPatchworkMails, rememberPatchworkMails } from "./patchwork-repository.ts";
import { listWantedChecks, recordFinalChecks } from "./patchwork-check-repository.ts";

const series: Series = onePatchSeries({ id: "series-copy", title: "tcp: a change", lists: ["bpf.vger.kernel.org"] });

const sample = (run: number, throughput: number) => ({
  cell: { test: "TCP_RR" as const, size: 1, topology: "loopback" as const },
  variant: "A",
  round: 0,
  run,
  slot: run,
  startedAt: "t0",
  endedAt: "t1",
  values: { THROUGHPUT: String(throughput) },
  throughput,
  ok: true,
});

async function fill(db: Db): Promise<void> {
  await saveSeries(db, series, new Map([["p1@x", Buffer.from("raw\r\nbytes \x00\xff", "latin1")]]));
  await createFlowIfAbsent(db, { id: "flow-c", seriesId: series.id, tree: "bpf-next", base: "abc", plan: "{}" });
  const at = "2026-12-06T10:00:00.000Z";
  await saveFlowResults(db, "flow-c", {
    results: [{ stage: "apply", status: "pass", summary: "applied", startedAt: at, endedAt: at, runner: "r", data: null }],
    samples: [sample(0, 123456.789012345), sample(1, 0.000123)],
    verdicts: [{ cell: "TCP_RR/loopback/1", verdict: "no change", data: { ratio: 1.001 } }],
  });
  await reserveDelivery(db, { id: "d1", flowId: "flow-c", channel: "mail", messageId: "m@x", target: "t" });
  await quarantineMessage(db, { messageId: "q@x", reason: "missing Message-ID header", source: "test", raw: Buffer.from("q") });
  await setCursor(db, "installation", "id", "abc123");
  await setTarget(db, "flow-c", {
    installationId: 1,
    owner: "o",
    repo: "r",
    number: 1,
    headSha: "h",
    kind: "check",
    checkRunId: 30_000_000_001,
    commentId: null,
    request: null,
    changedFiles: [],
    state: "queued",
  });
  await setPullState(db, "o/r#1", { flows: ["flow-c"], pendingBench: null });
  await rememberPatchworkMails(db, { instance: "https://patchwork.example.org", project: "netdevbpf" }, [{ messageId: "p1@x", patchId: 13_000_000, seriesId: 900_001, state: "new" }]);
  await recordFinalChecks(db, { instance: "https://patchwork.example.org", project: "netdevbpf" }, "flow-c", [
    { patchId: 13_000_000, context: "patchbench-apply", state: "success", description: "applied", targetUrl: null, onlyOverPending: false },
  ]);
}

test("copyStore: SQLite to PostgreSQL and back, every table, bytes and doubles exact; run again: nothing twice; numbered keys continue", async () => {
  const [sqlite] = STORE_BACKENDS;
  const a = await sqlite!.fresh();
  const b = await scratchPostgres();
  const c = await sqlite!.fresh();
  const from = await openStore(a.location);
  const pg = await openStore(b.url);
  const back = await openStore(c.location);
  try {
    await fill(from);
    const copied = await copyStore(from, pg);
    assert.deepEqual(copied, {
      series: 1,
      raw_mails: 1,
      flows: 1,
      runs: 1,
      samples: 2,
      verdicts: 1,
      deliveries: 1,
      quarantine: 1,
      cursors: 1,
      github_targets: 1,
      pull_states: 1,
      patchwork_patches: 1,
      series_mails: 1,
      series_lists: 1,
      patchwork_check_states: 1,
    });
    assert.deepEqual(await listPatchworkMails(pg, { instance: "https://patchwork.example.org", project: "netdevbpf" }, ["p1@x"]), [
      { messageId: "p1@x", patchId: 13_000_000, seriesId: 900_001, state: "new" },
    ]);
    assert.deepEqual(await listWantedChecks(pg, { instance: "https://patchwork.example.org", project: "netdevbpf" }, [{ patchId: 13_000_000, context: "patchbench-apply" }]), [
      { patchId: 13_000_000, context: "patchbench-apply", state: "success", description: "applied", targetUrl: null, onlyOverPending: false, flowId: "flow-c", final: true, postedAt: null },
    ]);
    assert.equal((await getTarget(pg, "flow-c"))?.checkRunId, 30_000_000_001, "a check run id past 2^31");
    assert.deepEqual(await getSeries(pg, series.id), series);
    assert.equal(Buffer.from((await getRawMails(pg, series.id)).get("p1@x")!).toString("latin1"), "raw\r\nbytes \x00\xff");
    assert.deepEqual(
      (await listSamples(pg, "flow-c")).map((s) => s.throughput),
      [123456.789012345, 0.000123],
      "doubles keep every digit",
    );
    assert.equal((await listVerdicts(pg, "flow-c"))[0]?.verdict, "no change");
    assert.ok(Object.values(await copyStore(from, pg)).every((n) => n === 0), "a second copy adds nothing");
    await quarantineMessage(pg, { messageId: "q2@x", reason: "later", source: "test", raw: null });
    assert.deepEqual(
      (await listQuarantine(pg)).map((q) => q.id).sort(),
      [1, 2],
      "the sequence continues after the copied ids",
    );
    const round = await copyStore(pg, back);
    assert.equal(round.quarantine, 2);
    assert.deepEqual(await getSeries(back, series.id), series);
  } finally {
    await from.destroy();
    await pg.destroy();
    await back.destroy();
    await a.drop();
    await b.drop();
    await c.drop();
  }
});
