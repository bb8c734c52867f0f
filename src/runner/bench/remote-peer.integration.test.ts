/**
 * Integration: the remote topology against a real OpenSSH server the test starts inside a
 * network namespace standing in as the peer (203.0.113.248/30 over a veth pair), with its own
 * host key, a pinned known_hosts and a temp authorized_keys. netserver runs in that namespace,
 * started through ssh; netperf TCP_RR runs on the host across the veth. Sysctls are journaled
 * and restored.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { release } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createSshNetns, SSHD, type SshNetns } from "../../../test/helpers/sshd-netns.ts";
import { benchSchema } from "../../config/schema.ts";
import type { BenchPlan } from "../../domain/bench-plan.ts";
import { exec } from "../../lib/exec.ts";
import { silentLogger } from "../../lib/logger.ts";
import { describeProfile } from "./describe-profile.ts";
import { restoreFromJournal } from "./host-settings.ts";
import { ensureNetserver, type HostBench } from "./host-side-session.ts";
import { readPeerKernel, type RemotePeer, startRemoteNetserver } from "./remote-peer.ts";
import { runBenchPlan } from "./run-matrix.ts";
import { planTopology } from "./topology.ts";

const PEER = "203.0.113.250";
const skip = !existsSync(SSHD) ? "openssh-server not installed" : process.getuid?.() !== 0 ? "needs root (network namespaces)" : false;

describe("remote topology (real sshd + netserver in a netns as the peer)", { skip }, () => {
  const ns = `pb-peer-${process.pid}`;
  let box: SshNetns;
  let dir = "";
  let peer: RemotePeer;
  const sh = (...argv: string[]) => execFileSync(argv[0]!, argv.slice(1), { stdio: "pipe" }).toString();
  const netserversInPeer = () =>
    sh("ip", "netns", "pids", ns)
      .split(/\s+/)
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readFileSync(`/proc/${p}/comm`, "utf8").trim() === "netserver";
        } catch {
          return false;
        }
      });

  before(async () => {
    box = createSshNetns({ ns, veth: `pbp${process.pid % 100000}`, hostAddr: "203.0.113.249", peerAddr: PEER, dirPrefix: "pb-peer-", hostKeys: ["host_key", "other_host_key"] });
    dir = box.dir;
    const port = 20000 + ((process.pid + 7) % 20000);
    writeFileSync(join(dir, "known_hosts"), box.pin("host_key", port) + box.pin("host_key", port + 1));
    writeFileSync(join(dir, "known_hosts_other"), box.pin("other_host_key", port));
    await box.startSshd("sshd_config", port, []);
    // A second sshd whose sessions' PATH has ss and uname but no netserver: a peer without netperf.
    mkdirSync(join(dir, "bin"));
    for (const b of ["ss", "uname", "sh", "bash", "env"]) symlinkSync(sh("sh", "-c", `command -v ${b}`).trim(), join(dir, "bin", b));
    await box.startSshd("sshd_config_bare", port + 1, [`SetEnv PATH=${join(dir, "bin")}`]);
    // Through the schema, as a tree config gives it.
    const remote = benchSchema.parse({
      topologies: ["remote"],
      remote: { host: PEER, port, identityFile: box.clientKey, knownHostsFile: join(dir, "known_hosts"), dataAddr: PEER, netserverPort: 23866 },
    }).remote;
    assert.ok(remote);
    peer = remote;
  });

  after(async () => {
    await restoreFromJournal(join(dir, "journal.json")).catch(() => undefined);
    for (const p of netserversInPeer()) process.kill(Number(p), "SIGKILL");
    box?.close();
  });

  test("a plan with remote cells: netperf on the host, netserver on the peer, both kernels stated, nothing left there", async (t) => {
    const plan: BenchPlan = {
      cells: [{ test: "TCP_RR", size: 1, topology: "remote" }],
      variants: [
        { name: "busy_read=0", settings: [{ kind: "sysctl", key: "net.core.busy_read", value: "0" }] },
        { name: "busy_read=50", settings: [{ kind: "sysctl", key: "net.core.busy_read", value: "50" }] },
      ],
      rounds: 2,
      runsPerRound: 1,
      durationSec: 1,
      warmup: false,
      design: "ABBA",
      seed: 1,
      pinning: null,
    };
    const t0 = Date.now();
    const r = await runBenchPlan(plan, { log: silentLogger(), journalPath: join(dir, "journal.json"), settleMs: 200, budgetSec: 60, remote: peer });
    const wall = (Date.now() - t0) / 1000;
    assert.equal(r.aborted, false);
    assert.equal(r.samples.length, 4);
    for (const s of r.samples) {
      assert.equal(s.ok, true, s.problem);
      assert.ok(s.throughput > 0);
    }
    assert.equal(r.peerKernel, release(), "the peer's uname -r, read over ssh (a namespace shares the host's kernel)");
    const profile = describeProfile(r.profile, r.peerKernel);
    assert.equal(profile.kernel, `${r.profile.kernelRelease} (runner)`);
    assert.equal(profile["peer kernel"], `${release()} (remote peer, netserver)`);
    assert.deepEqual(netserversInPeer(), [], "no netserver left on the peer");
    t.diagnostic(`wall ${wall.toFixed(1)} s; ${r.samples.map((s) => `${s.variant}: ${Math.round(s.throughput)} tps p99 ${s.values.P99_LATENCY} us`).join("; ")}`);
  });

  test("a missing identity file or pin is an input error before any ssh", async () => {
    const plan: BenchPlan = {
      cells: [{ test: "TCP_RR", size: 1, topology: "remote" }],
      variants: [
        { name: "a", settings: [] },
        { name: "b", settings: [] },
      ],
      rounds: 1,
      runsPerRound: 1,
      durationSec: 1,
      warmup: false,
      design: "ABBA",
      seed: 1,
      pinning: null,
    };
    const deps = { log: silentLogger(), journalPath: join(dir, "journal.json"), budgetSec: 60 };
    await assert.rejects(runBenchPlan(plan, { ...deps, remote: { ...peer, knownHostsFile: join(dir, "nope") } }), /bench\.remote: .*nope not found/);
    await assert.rejects(runBenchPlan(plan, deps), /the remote topology needs bench\.remote/);
  });

  test("a host key that is not the pinned one is refused, and the pin is left as it was", async () => {
    const pinned = readFileSync(join(dir, "known_hosts_other"), "utf8");
    const bad = { ...peer, knownHostsFile: join(dir, "known_hosts_other") };
    await assert.rejects(readPeerKernel(bad), (e: Error) => {
      assert.match(e.message, new RegExp(`remote peer root@${PEER.replaceAll(".", "\\.")}:\\d+, reading its kernel: host key does not match the one pinned in .*known_hosts_other; refused`));
      return true;
    });
    await assert.rejects(startRemoteNetserver(bad), /starting netserver|looking for netserver/);
    assert.equal(readFileSync(join(dir, "known_hosts_other"), "utf8"), pinned, "never overwritten");
    const empty = { ...peer, knownHostsFile: join(dir, "known_hosts_empty") };
    writeFileSync(empty.knownHostsFile, "");
    await assert.rejects(readPeerKernel(empty), /host key is not the one pinned .*; refused/);
    assert.equal(readFileSync(empty.knownHostsFile, "utf8"), "", "a first contact is not learned either");
  });

  test("a peer without netserver: the start fails with why, naming the peer and the step", async () => {
    await assert.rejects(
      startRemoteNetserver({ ...peer, port: peer.port + 1 }),
      /remote peer root@203\.0\.113\.250:\d+, starting netserver on 203\.0\.113\.250:23866: netserver is not installed there \([^|]*netserver'?: (not found|No such file or directory)\)$/,
    );
    assert.deepEqual(netserversInPeer(), []);
  });

  test("a peer nobody answers on is unreachable, named with the step", async () => {
    await assert.rejects(readPeerKernel({ ...peer, port: peer.port + 2, connectTimeoutSec: 2 }), /remote peer root@203\.0\.113\.250:\d+, reading its kernel: unreachable \(.*Connection refused/);
  });

  test("a killed netserver on the peer is restarted once, then the second death is an error naming the peer", async () => {
    const h = planTopology("remote", "pb", `${process.pid}-abcd`, peer.dataAddr);
    const host = {
      exec,
      log: silentLogger(),
      remote: peer,
      topo: new Map([["remote", h]]),
      servers: new Map(),
      restarts: new Map(),
      notes: [] as string[],
      cgroup: null,
    } as unknown as HostBench;
    const first = await ensureNetserver(host, "remote");
    assert.deepEqual(netserversInPeer(), [String(first.pid)], "the pid the peer reported is the netserver in the peer");
    process.kill(first.pid, "SIGKILL");
    for (let i = 0; i < 50 && first.alive(); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(first.alive(), false);
    assert.match(first.deathReason() ?? "", /^remote peer root@203\.0\.113\.250:\d+: netserver was killed by a signal/);
    const second = await ensureNetserver(host, "remote");
    assert.notEqual(second.pid, first.pid);
    assert.match(host.notes.join("\n"), /netserver for remote died \(remote peer .*\); restarted once/);
    process.kill(second.pid, "SIGKILL");
    for (let i = 0; i < 50 && second.alive(); i++) await new Promise((r) => setTimeout(r, 100));
    await assert.rejects(ensureNetserver(host, "remote"), /netserver for remote died again after a restart: remote peer root@203\.0\.113\.250/);
    await second.stop();
    assert.deepEqual(netserversInPeer(), []);
  });

  test("a runner that dies mid-job leaves no netserver on the peer (the session's hangup ends it)", async () => {
    const h = await startRemoteNetserver(peer);
    assert.deepEqual(netserversInPeer(), [String(h.pid)]);
    // The local ssh carrying the netserver session, as a crash of the runner would end it.
    const ssh = sh("pgrep", "-P", String(process.pid), "-x", "ssh").split(/\s+/).filter((x) => x !== "");
    assert.equal(ssh.length, 1, "one ssh session: the netserver's");
    process.kill(Number(ssh[0]), "SIGKILL");
    for (let i = 0; i < 50 && netserversInPeer().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(netserversInPeer(), [], "netserver on the peer ended with its session");
    await h.stop();
  });
});
