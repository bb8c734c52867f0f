import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createScratchSeries } from "../../src/demo/scratch-series.ts";
import { splitMbox } from "../../src/ingest/mail/split-mbox.ts";
import { formatQuantity } from "../../src/report/format-number.ts";
import { listDeliveries } from "../../src/store/delivery-repository.ts";
import { openStore } from "../../src/store/open-store.ts";
import { listSamples, listVerdicts } from "../../src/store/result-repository.ts";
import { startTestRedis, type TestRedis } from "../helpers/redis-server.ts";
import { runCli } from "../helpers/run-cli.ts";

/**
 * The spine end to end, through the real CLI: a `git format-patch
 * --cover-letter` series of a scratch tree, a real Redis and BullMQ flow,
 * real git am, real host probes and real netperf runs.
 */
describe("patchbench review (real Redis, git, netperf)", () => {
  let redis: TestRedis;
  let dir: string;
  before(async () => {
    redis = await startTestRedis();
    dir = mkdtempSync(join(tmpdir(), "pb-review-"));
  });
  after(async () => {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a series that applies: report threaded to the cover, numbers match the stored samples, one flow when run twice", async () => {
    const s = await createScratchSeries(join(dir, "ok"));
    const dataDir = join(dir, "ok-data");
    const args = [
      "--data-dir", dataDir, "--redis-url", redis.url, "review", s.mboxPath, "--tree-path", s.treeDir,
      "--stages", "apply,selftests,bench", "--sizes", "1", "--topologies", "loopback", "--rounds", "2", "--runs", "2", "--duration", "1",
    ];
    const first = await runCli(args);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^Apply: {2}PASS - applied 2\/2 patches to bpf-next at /m);
    assert.match(first.stdout, new RegExp(`^Base: {3}bpf-next ${s.baseCommit.slice(0, 12)} \\(base-commit trailer\\)`, "m"));
    assert.match(first.stdout, /PASS host-probes\/tcp-loopback-round-trip/);
    for (const line of first.stdout.split("\n")) {
      assert.ok(line.length <= 72, `line over 72 columns: ${line}`);
      assert.match(line, /^[\x20-\x7e]*$/, `non-ASCII line: ${line}`);
    }
    const emlPath = /report: (\S+\.eml)/.exec(first.stderr)?.[1];
    assert.ok(emlPath && existsSync(emlPath), first.stderr);
    const eml = readFileSync(emlPath, "utf8");
    assert.match(eml, /^Subject: Re: \[PATCH bpf-next 0\/2\] bpf: SO_BUSY_POLL from sockops programs$/m);
    assert.match(eml, /^In-Reply-To: <cover\.\d+\.git\.ada@example\.org>$/m);
    assert.match(eml, /^References: <cover\.\d+\.git\.ada@example\.org>$/m);
    assert.match(eml, /^X-Patchbench-Report: flow-[0-9a-f]+$/m);
    assert.match(eml, /^To: Ada Hacker <ada@example\.org>$/m);
    assert.match(eml, /^Cc: bpf@vger\.kernel\.org$/m);
    assert.doesNotMatch(eml, /text\/html/);

    // Every figure printed comes from the stored samples.
    const flowId = /X-Patchbench-Report: (\S+)/.exec(eml)![1]!;
    const db = await openStore(join(dataDir, "patchbench.sqlite"));
    try {
      const samples = await listSamples(db, flowId);
      const ok = samples.filter((x) => x.ok === 1);
      assert.equal(ok.length, 2 * 2 * 2, "2 rounds x 2 variants x 2 runs");
      const gm = (variant: string) => {
        const rounds = new Map<number, number[]>();
        for (const x of ok.filter((y) => y.variant === variant)) rounds.set(x.round, [...(rounds.get(x.round) ?? []), x.throughput!]);
        const means = [...rounds.values()].map((r) => r.reduce((a, b) => a + b, 0) / r.length);
        return Math.exp(means.reduce((a, b) => a + Math.log(b), 0) / means.length);
      };
      const line = `TCP_RR (loopback) 1 B ${formatQuantity(gm("busy_read=0"))} -> ${formatQuantity(gm("busy_read=50"))} tps`;
      assert.ok(first.stdout.includes(line), `expected "${line}" in:\n${first.stdout}`);
      assert.equal((await listVerdicts(db, flowId)).length, 1);
    } finally {
      await db.destroy();
    }

    const second = await runCli(args);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /flow already exists \(reviewed before; --rerun runs it again\)/);
    // By Message-ID: the series is found in the store (no path needed).
    const coverId = /^In-Reply-To: <([^>]+)>$/m.exec(eml)![1]!;
    const byId = await runCli([...args.slice(0, 4), "review", `<${coverId}>`, ...args.slice(6)]);
    assert.equal(byId.code, 0, byId.stderr);
    assert.match(byId.stderr, /flow already exists/);
    const unknown = await runCli([...args.slice(0, 4), "review", "nobody@example.org"]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /no stored series contains <nobody@example\.org>/);

    // b4's external check: a patch mail on stdin → this series' results.
    const patchMail = splitMbox(readFileSync(s.mboxPath)).messages[1]!.raw;
    const b4 = await runCli([...args.slice(0, 4), "b4-check"], {}, undefined, patchMail);
    assert.equal(b4.code, 0, b4.stderr);
    const check = JSON.parse(b4.stdout);
    assert.equal(check.tool, "patchbench");
    assert.ok(["pass", "warn", "fail"].includes(check.status));
    assert.match(JSON.parse(check.details)[0].description, /^apply: applied 2\/2 patches/);

    const db2 = await openStore(join(dataDir, "patchbench.sqlite"));
    try {
      const flows = await db2.selectFrom("flows").selectAll().execute();
      assert.equal(flows.length, 1);
      assert.equal((await listDeliveries(db2)).length, 1);
    } finally {
      await db2.destroy();
    }
  });

  test("a series that does not apply: a result, not a crash; later stages skipped", async () => {
    const s = await createScratchSeries(join(dir, "conflict"), { conflicting: true });
    const r = await runCli(["--data-dir", join(dir, "c-data"), "--redis-url", redis.url, "review", s.mboxPath, "--tree-path", s.treeDir, "--stages", "apply,selftests,bench"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^patchbench: does not apply to bpf-next at [0-9a-f]{12} \(patch 1\)/);
    assert.match(r.stdout, /base-commit [0-9a-f]{12} is not in bpf-next/);
    assert.match(r.stdout, /files: net\/core\/filter\.c/);
    assert.match(r.stdout, /Benchmark: not run \(the series does not apply\)/);
    assert.doesNotMatch(r.stdout, /Selftests:/);
  });

  test("bad input and bad services: one clear line, non-zero exit, nothing stored", async () => {
    const data = join(dir, "bad-data");
    const missing = await runCli(["--data-dir", data, "--redis-url", redis.url, "review", join(dir, "nope.mbox")]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /^patchbench: .*nope\.mbox: no such file or directory/m);

    const notMail = join(dir, "not-mail.txt");
    (await import("node:fs")).writeFileSync(notMail, "hello\nworld\n");
    const nm = await runCli(["--data-dir", data, "--redis-url", redis.url, "review", notMail]);
    assert.notEqual(nm.code, 0);
    assert.match(nm.stderr, /^patchbench: .*(no mail found|no patch series)/m);

    const s = await createScratchSeries(join(dir, "bad"));
    const unreachable = await runCli(["--data-dir", data, "--redis-url", "redis://127.0.0.1:1", "review", s.mboxPath]);
    assert.notEqual(unreachable.code, 0);
    assert.match(unreachable.stderr, /^patchbench: cannot reach Redis at redis:\/\/127\.0\.0\.1:1/m);

    const lru = await startTestRedis(["--maxmemory-policy", "allkeys-lru"]);
    try {
      const evict = await runCli(["--data-dir", data, "--redis-url", lru.url, "review", s.mboxPath]);
      assert.notEqual(evict.code, 0);
      assert.match(evict.stderr, /maxmemory-policy allkeys-lru; patchbench needs noeviction/);
    } finally {
      await lru.stop();
    }
    assert.equal(existsSync(join(data, "patchbench.sqlite")), false, "nothing half-written in the store");
  });
});
