import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FlowProducer, Queue } from "bullmq";
import { Redis } from "ioredis";
import { loadConfig } from "../../src/config/load-config.ts";
import type { Config } from "../../src/config/schema.ts";
import { createScratchSeries } from "../../src/demo/scratch-series.ts";
import { git } from "../../src/lib/git.ts";
import { silentLogger } from "../../src/lib/logger.ts";
import { createBenchLimiter } from "../../src/queue/bench-limiter.ts";
import { stageJobSchema } from "../../src/queue/payloads.ts";
import { ORCHESTRATOR_QUEUE } from "../../src/queue/queue-names.ts";
import { bullConnection } from "../../src/queue/redis-connection.ts";
import { applySeries } from "../../src/runner/apply/apply-series.ts";
import { validateSysctl } from "../../src/runner/bench/host-settings.ts";
import { openStore } from "../../src/store/open-store.ts";
import { pollOnce } from "../../src/workers/mail-poller.ts";
import type { TestRedis } from "../helpers/redis-server.ts";
import { startTestSmtp } from "../helpers/smtp-server.ts";
import type { AttackRow } from "./format-attack-table.ts";
import { headerBomb, mboxMail } from "./mbox-mail.ts";
import { probeAttack } from "./probe-attack.ts";

const MAINT = "maint@kernel.example";
const OUR_MTA = "mx.example.org";

/**
 * Mail through the poller (pollOnce on an mbox source: parse, group,
 * /bench by mail, plan, enqueue into a real Redis) with replies sent over
 * real SMTP. One poll carries every attack plus one genuine maintainer
 * /bench, which must still run: a bomb that stops ingest is a failure too.
 */
export async function runMailAttacks(redis: TestRedis): Promise<AttackRow[]> {
  const dir = mkdtempSync(join(tmpdir(), "pb-sec-mail-"));
  const marker = join(dir, "pwned");
  const smtp = await startTestSmtp();
  const limiterRedis = new Redis(redis.url);
  const connection = bullConnection({ host: "127.0.0.1", port: redis.port });
  const prefix = "pbsecmail";
  const flows = new FlowProducer({ connection, prefix });
  const pool = new Queue("pool-local", { connection, prefix });
  const reports = new Queue(ORCHESTRATOR_QUEUE, { connection, prefix });
  const opened: { destroy(): Promise<void> }[] = [];
  const setup = async (name: string, mbox: string, tune: (c: Config) => void = () => {}) => {
    const config = loadConfig({ flags: { dataDir: join(dir, name), redisUrl: redis.url } });
    config.global.redis.prefix = prefix;
    config.global.mail.bench = { maintainers: [MAINT], trustedAuthservIds: [OUR_MTA] };
    config.global.mail.dryRun = false;
    config.global.mail.smtp = { ...config.global.mail.smtp, host: "127.0.0.1", port: smtp.port };
    tune(config);
    const db = await openStore(config.paths.storePath);
    opened.push(db);
    const benchLimiter = createBenchLimiter(limiterRedis, prefix, config.global.github.bench.rateLimit);
    return { db, config, flows, log: silentLogger(), installationId: `sec-${name}`, sources: [{ kind: "mbox" as const, path: mbox, intervalSec: 1 }], benchLimiter };
  };
  try {
    const s = await createScratchSeries(join(dir, "s"));
    const seriesMbox = readFileSync(s.mboxPath, "latin1");
    const cover = /^Message-Id: <(cover[^>]+)>/m.exec(seriesMbox)![1]!;
    const subject = "Re: [PATCH bpf-next 0/2] bpf: SO_BUSY_POLL from sockops programs";
    const mbox = join(dir, "list.mbox");
    appendFileSync(mbox, seriesMbox, "latin1");
    const deps = await setup("list", mbox);
    const first = await pollOnce(deps);
    assert.equal(first.flows.length, 1, "the series itself");
    const sentBefore = smtp.received.length;

    const reply = (o: { from: string; id: string; body: string; auth?: string; subject?: string; extra?: string[] }) =>
      mboxMail([
        `From: ${o.from}`,
        "To: bpf@vger.kernel.org",
        `Subject: ${o.subject ?? subject}`,
        "Date: Fri, 12 Jun 2026 09:00:00 +0000",
        `Message-ID: <${o.id}>`,
        `In-Reply-To: <${cover}>`,
        `References: <${cover}>`,
        ...(o.auth ? [`Authentication-Results: ${o.auth}`] : []),
        ...(o.extra ?? []),
      ], o.body);
    // A patch of the series again, as a new one-patch series whose Subject and Message-ID are shell syntax.
    const patch1 = seriesMbox.split(/^(?=From [0-9a-f]{40} )/m).find((m) => /^Subject: \[PATCH bpf-next 1\/2\]/m.test(m))!;
    const metaId = `a$(touch ${marker})b;c|d&e\`touch ${marker}\`@evil.example`;
    const metaSeries = patch1
      .replace(/^Subject: .*\n(?:[ \t].*\n)*/m, `Subject: [PATCH bpf-next] bpf: $(touch ${marker}); \`touch ${marker}\` | touch ${marker}\n`)
      .replace(/^Message-Id: .*$/im, `Message-Id: <${metaId}>`)
      .replace(/^(In-Reply-To|References): .*\n/gim, "");
    const mails = [
      reply({ from: `Maint <${MAINT}>`, id: "spoof@x", body: "/bench rounds=2" }),
      reply({ from: `Maint <${MAINT}>`, id: "forged-ar@x", body: "/bench sizes=64 rounds=3", auth: "mx.attacker.example; dkim=pass header.d=kernel.example" }),
      ...[1, 2, 3].map((i) => reply({ from: "Stranger <s@elsewhere.example>", id: `stranger-${i}@x`, body: "/bench", auth: `${OUR_MTA}; dkim=pass header.d=elsewhere.example` })),
      headerBomb(cover),
      reply({
        from: `"Maint $(touch ${marker})" <${MAINT}>`,
        id: "meta-args@x",
        subject: "Re: =?utf-8?q?bench=0D=0ABcc:_victim@evil.example?=",
        body: `/bench variant=busy_read=1;touch${marker} runner=$(touch${marker})`,
        auth: `${OUR_MTA}; dkim=pass header.d=kernel.example`,
      }),
      metaSeries,
      reply({ from: `Maint <${MAINT}>`, id: "genuine@x", body: "/bench sizes=1 rounds=2", auth: `${OUR_MTA}; dkim=pass header.d=kernel.example` }),
    ];
    appendFileSync(mbox, mails.join(""), "latin1");
    const t0 = Date.now();
    const second = await pollOnce(deps);
    const pollMs = Date.now() - t0;
    const sent = smtp.received.slice(sentBefore);
    const inReplyTo = (id: string) => sent.filter((m) => m.raw.toString("latin1").includes(`In-Reply-To: <${id}>`));
    const jobs = await Promise.all(second.flows.map(async (f) => (await pool.getJob(`${f}-apply`))?.data));
    const requestedBy = await Promise.all(second.flows.map(async (f) => ((await reports.getJob(`${f}-report`))?.data as { request?: { by: string } } | undefined)?.request?.by));
    // The only /bench flow of the poll must be the genuine one (sizes=1): the spoofed asked for none, the forged for 64.
    const benchSizes = await Promise.all(
      second.flows.filter((_, i) => requestedBy[i]).map(async (f) => ((await pool.getJob(`${f}-bench`))?.data as { bench?: { sizes?: number[] } } | undefined)?.bench?.sizes),
    );
    const onlyGenuine = () => assert.deepEqual(benchSizes, [[1]], `the /bench flows of the poll asked for sizes ${JSON.stringify(benchSizes)}`);
    const rows: AttackRow[] = [];

    rows.push(
      await probeAttack("/bench by mail with a spoofed From (no Authentication-Results)", "not run, not answered", () => {
        assert.equal(inReplyTo("spoof@x").length, 0);
        onlyGenuine();
        return `0 replies; of ${second.flows.length} new flows 1 is a /bench (the genuine one)`;
      }),
    );
    rows.push(
      await probeAttack("/bench with forged Authentication-Results (untrusted authserv-id)", "not run, not answered", () => {
        assert.equal(inReplyTo("forged-ar@x").length, 0);
        onlyGenuine();
        return "0 replies; dkim=pass from mx.attacker.example ignored";
      }),
    );
    rows.push(
      await probeAttack("a stranger's /bench by mail, three times", "at most one refusal (mail: none, no backscatter)", () => {
        const n = [1, 2, 3].reduce((a, i) => a + inReplyTo(`stranger-${i}@x`).length, 0);
        assert.ok(n <= 1, `${n} replies`);
        return `${n} replies`;
      }),
    );
    rows.push(
      await probeAttack("header bomb (100,000 header lines, 60,000 References ids)", "ingest finishes; later mail still runs", () => {
        assert.ok(pollMs < 60_000, `poll took ${pollMs} ms`);
        assert.deepEqual(benchSizes, [[1]], "the genuine /bench after the bomb was not queued");
        return `poll of ${mails.length} mails took ${(pollMs / 1000).toFixed(1)} s; ${second.quarantined} quarantined; the genuine /bench queued`;
      }),
    );
    rows.push(
      await probeAttack("shell metacharacters in /bench args and sysctl values; CRLF in Subject", "error reply to the sender only; nothing run", () => {
        const r = inReplyTo("meta-args@x");
        assert.equal(r.length, 1, `${r.length} replies`);
        assert.deepEqual(r[0]!.to, [MAINT]);
        const raw = r[0]!.raw.toString("latin1");
        const head = raw.slice(0, raw.indexOf("\r\n\r\n"));
        assert.doesNotMatch(head, /^(Bcc|Cc):/im, "a header was injected");
        assert.equal(existsSync(marker), false, "a command ran");
        assert.throws(() => validateSysctl("net.core.busy_read", `1; touch ${marker}`), /must be digits/);
        const body = raw.slice(raw.indexOf("\r\n\r\n")).replace(/\s+/g, " ").trim();
        return `1 reply, RCPT TO ${r[0]!.to.join(",")}, no injected header: "${body.slice(0, 90)}…"; the runner's sysctl guard refuses the value too`;
      }),
    );
    rows.push(
      await probeAttack("shell metacharacters in Subject and Message-ID of a series", "queued and applied as data; nothing run", async () => {
        const data = jobs.find((j) => JSON.stringify(j ?? {}).includes("$(touch"));
        assert.ok(data, "the series was not queued");
        const job = stageJobSchema.parse(data);
        // The runner has the tree at its configured place; here that is the scratch tree.
        const r = await applySeries({ ...job, tree: { ...job.tree, path: s.treeDir } }, { git, log: silentLogger(), workDir: join(dir, "runner"), runner: "security", fetchIntervalMs: 0 });
        assert.equal(r.status, "pass", r.summary);
        assert.equal(existsSync(marker), false, "a command ran");
        return `git am applied "${job.patches[0]?.subject.slice(0, 40)}…"; no marker file`;
      }),
    );
    const capped = async (name: string, caps: Partial<Config["global"]["ingest"]>, want: RegExp) => {
      const d = await setup(name, s.mboxPath, (c) => Object.assign(c.global.ingest, caps));
      const r = await pollOnce(d);
      assert.equal(r.flows.length, 1);
      const job = stageJobSchema.parse((await pool.getJob(`${r.flows[0]}-apply`))?.data);
      assert.deepEqual(job.patches, [], "patches travel to the runner");
      assert.match(job.refused ?? "", want);
      assert.equal(await pool.getJob(`${r.flows[0]}-bench`), undefined, "later stages queued");
      return `one stage, no patches: "${job.refused}"`;
    };
    rows.push(await probeAttack("series over ingest.maxPatches (2 patches, cap 1)", "not run; the result says which cap", () => capped("cap-n", { maxPatches: 1 }, /over ingest\.maxPatches=1; not run/)));
    rows.push(
      await probeAttack("series over ingest.maxSeriesBytes (cap 1000 B)", "not run; the result says which cap", () => capped("cap-b", { maxSeriesBytes: 1000 }, /bytes of patches, over ingest\.maxSeriesBytes=1000; not run/)),
    );
    return rows;
  } finally {
    for (const db of opened) await db.destroy();
    await flows.close();
    await pool.close();
    await reports.close();
    limiterRedis.disconnect();
    await smtp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
