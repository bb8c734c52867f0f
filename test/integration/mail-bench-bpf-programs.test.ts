import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { FlowProducer } from "bullmq";
import { Redis } from "ioredis";
import { loadConfig } from "../../src/config/load-config.ts";
import { createScratchSeries } from "../../src/demo/scratch-series.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { createBenchLimiter } from "../../src/queue/bench-limiter.ts";
import { bullConnection } from "../../src/queue/redis-connection.ts";
import { openStore } from "../../src/store/open-store.ts";
import { pollOnce } from "../../src/workers/mail-poller.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";

/**
 * A `/bench` by mail whose arm names a BPF program the candidate tree does not have is refused
 * when it arrives, with no flow queued: the orchestrator's tree repository holds the series'
 * base commit, and the series' patch mails say what the series does to the selftests' programs.
 */
let redis: TestRedis;
let dir: string;
before(async () => {
  redis = await startTestRedis();
  dir = mkdtempSync(join(tmpdir(), "pb-mailbench-bpf-"));
});
after(async () => {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

const reply = (id: string, to: string, subject: string, body: string) =>
  [
    "From mboxrd@z Thu Jan  1 00:00:00 1970",
    "From: Maint <maint@kernel.example>",
    "To: bpf@vger.kernel.org",
    `Subject: Re: ${subject}`,
    "Date: Fri, 12 Jun 2026 09:00:00 +0000",
    `Message-ID: <${id}>`,
    `In-Reply-To: <${to}>`,
    `References: <${to}>`,
    "Authentication-Results: mx.example.org; dkim=pass header.d=kernel.example",
    "Content-Type: text/plain; charset=utf-8",
    "",
    body,
    "",
    "",
  ].join("\n");

test("/bench by mail: an arm's program missing from the candidate tree is refused at once; one the tree has is queued", async () => {
  const s = await createScratchSeries(join(dir, "s"));
  const mbox = join(dir, "list.mbox");
  appendFileSync(mbox, readFileSync(s.mboxPath));
  const cover = /^Message-Id: <(cover[^>]+)>/m.exec(readFileSync(s.mboxPath, "utf8"))![1]!;
  const subject = "[PATCH bpf-next 0/2] bpf: SO_BUSY_POLL from sockops programs";
  const config = loadConfig({ flags: { dataDir: join(dir, "data"), redisUrl: redis.url } });
  config.global.mail.bench = { maintainers: ["maint@kernel.example"], trustedAuthservIds: ["mx.example.org"] };
  // The tree's local repository holds the series' base commit (its base-commit: trailer).
  config.trees[0]!.path = s.treeDir;
  const db = await openStore(config.paths.storePath);
  const flows = new FlowProducer({ connection: bullConnection({ host: "127.0.0.1", port: redis.port }), prefix: "patchbench" });
  const limiterRedis = new Redis(redis.url);
  const benchLimiter = createBenchLimiter(limiterRedis, "patchbench", config.global.github.bench.rateLimit);
  const deps = { db, config, flows, log: silentLogger(), installationId: "mailbench-bpf", sources: [{ kind: "mbox" as const, path: mbox, intervalSec: 1 }], benchLimiter };
  try {
    assert.equal((await pollOnce(deps)).flows.length, 1, "the series itself");
    appendFileSync(mbox, reply("r1@x", cover, subject, "/bench sizes=1 rounds=2 arm=bpf-cgroup=pb_sockops_busy_poll"));
    appendFileSync(mbox, reply("r2@x", cover, subject, "/bench sizes=1 rounds=2 arm=bpf-cgroup=setget_sockopt"));
    const second = await pollOnce(deps);
    assert.equal(second.flows.length, 1, "only the request whose program the tree has is queued");
    const outbox = readdirSync(config.paths.outboxDir).map((f) => readFileSync(join(config.paths.outboxDir, f), "utf8").replace(/=\r?\n/g, "").replace(/=3D/g, "="));
    const answer = outbox.find((m) => /^In-Reply-To: <r1@x>$/m.test(m));
    assert.ok(answer, "the refused request is answered");
    assert.ok(
      answer.includes(
        `patchbench: I cannot run that /bench: arm bpf-cgroup=pb_sockops_busy_poll: bpf-cgroup=pb_sockops_busy_poll: tools/testing/selftests/bpf/progs/pb_sockops_busy_poll.c is neither added by the series nor in its base tree (${s.baseCommit.slice(0, 12)})\n`,
      ),
      answer,
    );
    assert.ok(!outbox.some((m) => /^In-Reply-To: <r2@x>$/m.test(m)), "the queued request is answered by its report, not now");
  } finally {
    await flows.close();
    limiterRedis.disconnect();
    await db.destroy();
  }
});
