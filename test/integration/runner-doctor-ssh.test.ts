import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { EMBEDDED_CONFIG_DIR } from "../../src/config/load-config.ts";
import { benchSchema, bootSchema } from "../../src/config/schema.ts";
import type { RemotePeer } from "../../src/runner/bench/remote-peer.ts";
import { collectRemotePeerFacts, collectSshTargetFacts } from "../../src/runner/doctor/collect-ssh-facts.ts";
import type { DoctorCheck } from "../../src/runner/doctor/plan-doctor.ts";
import { planRemotePeerChecks, planSshTargetChecks } from "../../src/runner/doctor/plan-ssh-checks.ts";
import { exec } from "../../src/lib/exec.ts";
import { runCli } from "../helpers/run-cli.ts";
import { createSshNetns, SSHD, type SshNetns } from "../helpers/sshd-netns.ts";

/**
 * `runner doctor` against real OpenSSH servers in a network namespace standing in for the ssh boot
 * target and the remote bench peer (203.0.113.240/30), with pinned host keys. The namespace shares
 * this machine's kernel and files, so what the doctor reads there is what this machine has.
 */
const PEER = "203.0.113.242";
const skip = !existsSync(SSHD) ? "openssh-server not installed" : process.getuid?.() !== 0 ? "needs root (network namespaces)" : false;

describe("runner doctor: ssh boot target and remote bench peer (real sshd in a netns)", { skip }, () => {
  let box: SshNetns;
  let port = 0;
  let good: RemotePeer;
  before(async () => {
    box = createSshNetns({ ns: `pb-doc-${process.pid}`, veth: `pbd${process.pid % 100000}`, hostAddr: "203.0.113.241", peerAddr: PEER, dirPrefix: "pb-doc-", hostKeys: ["host_key", "other_host_key"] });
    port = 20000 + ((process.pid + 13) % 20000);
    writeFileSync(join(box.dir, "known_hosts"), box.pin("host_key", port) + box.pin("host_key", port + 1));
    writeFileSync(join(box.dir, "known_hosts_other"), box.pin("other_host_key", port));
    await box.startSshd("sshd_config", port, []);
    // A peer whose login PATH has a shell and uname but no netserver or ss.
    mkdirSync(join(box.dir, "bin"));
    for (const b of ["uname", "sh"]) symlinkSync(box.sh("sh", "-c", `command -v ${b}`).trim(), join(box.dir, "bin", b));
    await box.startSshd("sshd_config_bare", port + 1, [`SetEnv PATH=${join(box.dir, "bin")}`]);
    const remote = benchSchema.parse({
      topologies: ["remote"],
      remote: { host: PEER, port, identityFile: box.clientKey, knownHostsFile: join(box.dir, "known_hosts"), dataAddr: PEER },
    }).remote;
    assert.ok(remote);
    good = remote;
  });
  after(() => box?.close());

  const peerChecks = async (p: RemotePeer) => planRemotePeerChecks(await collectRemotePeerFacts(p, exec), "2.7.0");

  test("a reachable peer with netserver is ok; one without netserver fails with the package to install", async () => {
    const ok = await peerChecks(good);
    assert.deepEqual(
      ok.map((c) => [c.status, c.name]),
      [
        ["ok", `bench peer ${PEER}:${port}`],
        ["ok", `bench peer ${PEER}:${port} netserver`],
        ["ok", `bench peer ${PEER}:${port} netperf version`],
      ],
    );
    const bare = await peerChecks({ ...good, port: port + 1 });
    assert.deepEqual(bare.map((c) => c.status), ["ok", "fail"]);
    assert.equal(bare[1]!.seen, `netserver, ss not found in the login PATH on ${PEER}`);
    assert.match(bare[1]!.fix!, /apt-get install netperf iproute2/);
  });

  test("an unreachable peer fails with the step; a changed host key fails naming the machine, and the pin is left as it was", async () => {
    const t0 = Date.now();
    const down = await peerChecks({ ...good, port: port + 2 });
    assert.deepEqual(down.map((c) => c.status), ["fail"]);
    assert.match(down[0]!.seen, new RegExp(`^root@${PEER.replaceAll(".", "\\.")}:${port + 2}, connecting: unreachable \\(.*Connection refused\\)$`));
    const pinned = readFileSync(join(box.dir, "known_hosts_other"), "utf8");
    const changed = await peerChecks({ ...good, knownHostsFile: join(box.dir, "known_hosts_other") });
    assert.deepEqual(changed.map((c) => c.status), ["fail"]);
    assert.equal(changed[0]!.seen, `root@${PEER}:${port}: host key does not match the one pinned in ${join(box.dir, "known_hosts_other")}; refused, and the pin is never overwritten`);
    assert.equal(readFileSync(join(box.dir, "known_hosts_other"), "utf8"), pinned, "never overwritten");
    writeFileSync(join(box.dir, "known_hosts_empty"), "");
    const unknown = await peerChecks({ ...good, knownHostsFile: join(box.dir, "known_hosts_empty") });
    assert.match(unknown[0]!.seen, /no key for it is pinned in .*known_hosts_empty; refused \(never learned on first contact\)/);
    assert.equal(readFileSync(join(box.dir, "known_hosts_empty"), "utf8"), "", "a first contact is not learned");
    process.stderr.write(`# three failing ssh checks in ${Date.now() - t0} ms\n`);
  });

  test("an ssh target that does not answer, or answers with another key, fails naming it and the step; nothing else is judged", async () => {
    const target = (over: Record<string, unknown>) =>
      bootSchema.parse({ target: "ssh", ssh: { host: PEER, port, identityFile: box.clientKey, knownHostsFile: join(box.dir, "known_hosts"), ...over } }).ssh;
    const down = planSshTargetChecks(await collectSshTargetFacts(target({ port: port + 2 }), exec));
    assert.deepEqual(down.map((c) => [c.status, c.name]), [["fail", `ssh target ${PEER}:${port + 2}`]]);
    assert.match(down[0]!.seen, new RegExp(`^root@${PEER.replaceAll(".", "\\.")}:${port + 2}, connecting: unreachable \\(.*Connection refused\\)$`));
    const moved = planSshTargetChecks(await collectSshTargetFacts(target({ knownHostsFile: join(box.dir, "known_hosts_other") }), exec));
    assert.deepEqual(moved.map((c) => c.status), ["fail"]);
    assert.match(moved[0]!.seen, /host key does not match the one pinned in .*known_hosts_other; refused, and the pin is never overwritten/);
    const unpinned = planSshTargetChecks(await collectSshTargetFacts(target({ knownHostsFile: null }), exec));
    assert.match(unpinned[0]!.seen, /knownHostsFile is not set; not checked/);
  });

  test("the CLI: the target's reachability, kexec as this kernel allows it, and the peer; a tree whose peer changed its key makes the box unfit", async () => {
    const config = join(box.dir, "config");
    cpSync(EMBEDDED_CONFIG_DIR, config, { recursive: true });
    const global = join(config, "patchbench.yaml");
    writeFileSync(global, readFileSync(global, "utf8").replace(/^trees: \[bpf-next\]$/m, "trees: [lab, lab-moved]").replace(/^defaultTree: bpf-next$/m, "defaultTree: lab"));
    const ssh = { host: PEER, port, identityFile: box.clientKey, knownHostsFile: join(box.dir, "known_hosts"), remoteDir: "/var/tmp/pb-doctor-test" };
    const tree = (name: string, knownHostsFile: string) => ({
      name,
      url: "https://example.invalid/linux.git",
      stages: ["apply", "bench"],
      boot: { target: "ssh", ssh },
      bench: { topologies: ["remote"], remote: { host: PEER, port, identityFile: box.clientKey, knownHostsFile, dataAddr: PEER } },
    });
    writeFileSync(join(config, "trees", "lab.yaml"), JSON.stringify(tree("lab", join(box.dir, "known_hosts"))));
    writeFileSync(join(config, "trees", "lab-moved.yaml"), JSON.stringify(tree("lab-moved", join(box.dir, "known_hosts_other"))));
    const t0 = Date.now();
    const r = await runCli(["--config", config, "--data-dir", join(box.dir, "data"), "runner", "doctor", "--json"]);
    const ms = Date.now() - t0;
    const out = JSON.parse(r.stdout) as { unfit: boolean; checks: DoctorCheck[] };
    const by = (name: string) => out.checks.find((c) => c.name === name);
    const target = `ssh target ${PEER}:${port}`;
    assert.equal(by(target)?.status, "ok", JSON.stringify(by(target)));
    // The namespace runs this machine's kernel: the doctor must say what /sys says here.
    const kexec = by(`${target} kexec`)!;
    const disabled = existsSync("/proc/sys/kernel/kexec_load_disabled") ? readFileSync("/proc/sys/kernel/kexec_load_disabled", "utf8").trim() : null;
    if (!existsSync("/sys/kernel/kexec_loaded")) {
      assert.equal(kexec.status, "fail");
      assert.match(kexec.seen, /has no kexec \(no \/sys\/kernel\/kexec_loaded\)/);
    } else if (disabled === "1") assert.match(kexec.seen, /kexec_load_disabled = 1/);
    else if (!["/usr/sbin/kexec", "/sbin/kexec"].some((p) => existsSync(p))) assert.equal(kexec.seen, "kexec not found in the login PATH");
    else assert.notEqual(kexec.status, "fail", kexec.seen);
    assert.equal(by(`${target} disk`)?.status, "ok");
    assert.equal(by("packages: ssh target")?.status, "ok");
    // Both trees name the same peer with different pins: each is checked once, and the changed key fails.
    const peers = out.checks.filter((c) => c.name === `bench peer ${PEER}:${port}`);
    assert.deepEqual(peers.map((c) => c.status).sort(), ["fail", "ok"]);
    assert.match(peers.find((c) => c.status === "fail")!.seen, /host key does not match the one pinned in .*known_hosts_other; refused, and the pin is never overwritten/);
    assert.equal(out.unfit, true);
    assert.equal(r.code, 1);
    process.stderr.write(`# runner doctor with a target and two peer pins: ${ms} ms; kexec here: ${kexec.status} (${kexec.seen})\n`);
  });
});
