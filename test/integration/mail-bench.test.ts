import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { FlowProducer, Queue } from "bullmq";
import { Redis } from "ioredis";
import { loadConfig } from "../../src/config/load-config.ts";
import { createScratchSeries } from "../../src/demo/scratch-series.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { createBenchLimiter } from "../../src/queue/bench-limiter.ts";
import { ORCHESTRATOR_QUEUE } from "../../src/queue/queue-names.ts";
import { bullConnection } from "../../src/queue/redis-connection.ts";
import { openStore } from "../../src/store/open-store.ts";
import { saveFlowResults } from "../../src/store/result-repository.ts";
import { pollOnce } from "../../src/workers/mail-poller.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";

let redis: TestRedis;
let dir: string;
before(async () => {
  redis = await startTestRedis();
  dir = mkdtempSync(join(tmpdir(), "pb-mailbench-"));
});
after(async () => {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

function reply(opts: { from: string; id: string; to: string; subject: string; body: string; auth?: string; authservId?: string }): string {
  return [
    "From mboxrd@z Thu Jan  1 00:00:00 1970",
    `From: ${opts.from}`,
    "To: bpf@vger.kernel.org",
    `Subject: Re: ${opts.subject}`,
    "Date: Fri, 12 Jun 2026 09:00:00 +0000",
    `Message-ID: <${opts.id}>`,
    `In-Reply-To: <${opts.to}>`,
    `References: <${opts.to}>`,
    ...(opts.auth ? [`Authentication-Results: ${opts.authservId ?? "mx.example.org"}; ${opts.auth}`] : []),
    "Content-Type: text/plain; charset=utf-8",
    "",
    opts.body,
    "",
    "",
  ].join("\n");
}

test("/bench by mail: a maintainer's DKIM-passing request (by our authserv-id) runs once and is answered; strangers, no or forged Authentication-Results and failed DKIM are refused without a reply", async () => {
  const s = await createScratchSeries(join(dir, "s"));
  const mbox = join(dir, "list.mbox");
  appendFileSync(mbox, readFileSync(s.mboxPath));
  const cover = /^Message-Id: <(cover[^>]+)>/m.exec(readFileSync(s.mboxPath, "utf8"))![1]!;
  const subject = "[PATCH bpf-next 0/2] bpf: SO_BUSY_POLL from sockops programs";
  const dataDir = join(dir, "data");
  const config = loadConfig({ flags: { dataDir, redisUrl: redis.url } });
  config.global.mail.bench = { maintainers: ["maint@kernel.example"], trustedAuthservIds: ["mx.example.org"] };
  const db = await openStore(config.paths.storePath);
  const connection = bullConnection({ host: "127.0.0.1", port: redis.port });
  const flows = new FlowProducer({ connection, prefix: "patchbench" });
  const reports = new Queue(ORCHESTRATOR_QUEUE, { connection, prefix: "patchbench" });
  const pool = new Queue("pool-local", { connection, prefix: "patchbench" });
  const limiterRedis = new Redis(redis.url);
  const benchLimiter = createBenchLimiter(limiterRedis, "patchbench", config.global.github.bench.rateLimit);
  const deps = { db, config, flows, log: silentLogger(), installationId: "mailbench", sources: [{ kind: "mbox" as const, path: mbox, intervalSec: 1 }], benchLimiter };
  try {
    const first = await pollOnce(deps);
    assert.equal(first.flows.length, 1, "the series itself");

    appendFileSync(mbox, reply({ from: "Stranger <x@elsewhere.example>", id: "r1@x", to: cover, subject, body: "/bench rounds=2" }));
    appendFileSync(
      mbox,
      reply({ from: "Maint <maint@kernel.example>", id: "r2@x", to: cover, subject, body: "/bench sizes=1 rounds=2", auth: "dkim=fail header.d=kernel.example" }),
    );
    appendFileSync(
      mbox,
      reply({ from: "Maint <maint@kernel.example>", id: "r3@x", to: cover, subject, body: "Thanks.\n\n/bench sizes=1,64 topology=loopback rounds=2", auth: "dkim=pass header.d=kernel.example" }),
    );
    appendFileSync(mbox, reply({ from: "Maint <maint@kernel.example>", id: "r4@x", to: cover, subject, body: "/bench colour=blue", auth: "dkim=pass header.d=kernel.example" }));
    // A forged From with no Authentication-Results, or with one written by the sender (another authserv-id).
    appendFileSync(mbox, reply({ from: "Maint <maint@kernel.example>", id: "r6@x", to: cover, subject, body: "/bench sizes=1 rounds=3" }));
    appendFileSync(
      mbox,
      reply({ from: "Maint <maint@kernel.example>", id: "r7@x", to: cover, subject, body: "/bench sizes=64 rounds=3", auth: "dkim=pass header.d=kernel.example", authservId: "mx.attacker.example" }),
    );
    const second = await pollOnce(deps);
    assert.equal(second.flows.length, 1, "only the maintainer's DKIM-passing request runs");
    const report = await reports.getJob(`${second.flows[0]}-report`);
    assert.ok(report, "the report job exists");
    assert.deepEqual((report.data as { request?: unknown }).request, { by: "Maint <maint@kernel.example>", messageId: "r3@x" });
    const bench = (await pool.getJob(`${second.flows[0]}-bench`))?.data as {
      bench: { sizes: number[]; topologies: string[]; rounds: number };
    };
    assert.deepEqual(bench.bench.sizes, [1, 64]);
    assert.deepEqual(bench.bench.topologies, ["loopback"]);
    assert.equal(bench.bench.rounds, 2);
    // The unknown key got an error reply naming the problem.
    const outbox = readdirSync(config.paths.outboxDir).map((f) => readFileSync(join(config.paths.outboxDir, f), "utf8"));
    assert.ok(outbox.some((m) => /^To: Maint <maint@kernel\.example>$/m.test(m) && /colour/.test(m) && /^In-Reply-To: <r4@x>$/m.test(m)));
    // Nothing answers mail that is not authenticated (its From may be forged).
    for (const id of ["r1@x", "r2@x", "r6@x", "r7@x"]) assert.ok(!outbox.some((m) => m.includes(`In-Reply-To: <${id}>`)), `no reply to ${id}`);
    // Handled once: polling again (new unrelated mail) queues nothing more.
    appendFileSync(mbox, reply({ from: "Other <o@x.example>", id: "r5@x", to: cover, subject, body: "Looks good." }));
    const third = await pollOnce(deps);
    assert.deepEqual(third.flows, []);

    // The series' own flow did not apply (as its report stored it): a new /bench is answered at once, nothing queued.
    const at = new Date().toISOString();
    const failure = "patch 2/2 does not apply to bpf-next at 0123456789ab";
    await saveFlowResults(db, first.flows[0]!, {
      results: [{ stage: "apply", status: "fail", summary: `${failure}\nerror: net/core/filter.c: patch does not apply`, startedAt: at, endedAt: at, runner: "r", data: null }],
      samples: [],
      verdicts: [],
    });
    appendFileSync(mbox, reply({ from: "Maint <maint@kernel.example>", id: "r8@x", to: cover, subject, body: "/bench sizes=1", auth: "dkim=pass header.d=kernel.example" }));
    const fourth = await pollOnce(deps);
    assert.deepEqual(fourth.flows, [], "nothing queued for a series that does not apply");
    const answer = readdirSync(config.paths.outboxDir)
      .map((f) => readFileSync(join(config.paths.outboxDir, f), "utf8"))
      .find((m) => /^In-Reply-To: <r8@x>$/m.test(m));
    assert.ok(answer, "the request is answered");
    assert.match(answer.replace(/=\r?\n/g, ""), new RegExp(`nothing to benchmark: this series does not apply\\.\n\n  ${failure}\n  \\(flow ${first.flows[0]}\\)\n`));
  } finally {
    await flows.close();
    await reports.close();
    await pool.close();
    limiterRedis.disconnect();
    await db.destroy();
  }
});
