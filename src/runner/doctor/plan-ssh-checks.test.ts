import assert from "node:assert/strict";
import { test } from "node:test";
import { golden } from "../../../test/helpers/golden.ts";
import type { RemotePeer } from "../bench/remote-peer.ts";
import { classifySsh, parseKeyValues } from "./collect-ssh-facts.ts";
import { formatDoctor } from "./plan-doctor.ts";
import { planRemotePeerChecks, planSshTargetChecks, type RemotePeerFacts, type SshTargetFacts } from "./plan-ssh-checks.ts";

const target: SshTargetFacts = {
  name: "root@10.0.0.7:22",
  host: "10.0.0.7",
  port: 22,
  user: "root",
  identityFile: "/etc/patchbench/ssh/id_ed25519",
  knownHostsFile: "/etc/patchbench/ssh/known_hosts",
  remoteDir: "/var/tmp/patchbench",
  usesKexec: true,
  reach: { kind: "ok" },
  kernel: "6.1.0-28-amd64",
  kexecBinary: "/usr/sbin/kexec",
  kexecInKernel: true,
  kexecLoadDisabled: "0",
  lockdown: "[none] integrity confidentiality",
  freeDiskMB: 40_000,
};
const peer: RemotePeerFacts = {
  name: "root@10.0.1.2:2222",
  host: "10.0.1.2",
  port: 2222,
  user: "root",
  identityFile: "/etc/patchbench/ssh/id_ed25519",
  knownHostsFile: "/etc/patchbench/ssh/known_hosts",
  reach: { kind: "ok" },
  kernel: "6.1.0-28-amd64",
  netserver: "/usr/bin/netserver",
  netserverVersion: "Netperf version 2.7.0",
  ss: "/usr/bin/ss",
};
const statuses = (cs: { name: string; status: string }[]) => cs.map((c) => `${c.status} ${c.name}`);

test("planSshTargetChecks: a reachable target whose kernel allows kexec passes", () => {
  assert.deepEqual(statuses(planSshTargetChecks(target)), ["ok ssh target 10.0.0.7", "ok ssh target 10.0.0.7 kexec", "ok ssh target 10.0.0.7 disk"]);
});

test("planSshTargetChecks: kexec refused by the target's kernel, each with its own fix", () => {
  const kexec = (over: Partial<SshTargetFacts>) => planSshTargetChecks({ ...target, ...over }).find((c) => c.name.endsWith("kexec"))!;
  const noKexec = kexec({ kexecInKernel: false, kexecLoadDisabled: null });
  assert.equal(noKexec.status, "fail");
  assert.match(noKexec.seen, /6\.1\.0-28-amd64 has no kexec/);
  assert.match(noKexec.fix!, /CONFIG_KEXEC=y; or switch with a one-shot boot entry/);
  const disabled = kexec({ kexecLoadDisabled: "1" });
  assert.equal(disabled.status, "fail");
  assert.match(disabled.seen, /kexec_load_disabled = 1/);
  assert.match(disabled.fix!, /^on 10\.0\.0\.7: remove kernel\.kexec_load_disabled/);
  const noTools = kexec({ kexecBinary: null });
  assert.equal(noTools.status, "fail");
  assert.equal(noTools.fix, "on 10.0.0.7: apt-get install kexec-tools");
  const locked = kexec({ lockdown: "none [integrity] confidentiality" });
  assert.equal(locked.status, "warn");
  assert.match(locked.seen, /only signed kernels/);
  // A target switched with a one-shot boot entry needs no kexec.
  assert.equal(planSshTargetChecks({ ...target, usesKexec: false, kexecInKernel: false }).some((c) => c.name.endsWith("kexec")), false);
});

test("planSshTargetChecks: a full disk on the target fails, a tight one warns", () => {
  const disk = (mb: number | null) => planSshTargetChecks({ ...target, freeDiskMB: mb }).at(-1)!;
  assert.equal(disk(100).status, "fail");
  assert.match(disk(100).seen, /100 MB free under \/var\/tmp\/patchbench/);
  assert.equal(disk(1000).status, "warn");
  assert.equal(disk(null).status, "warn");
});

test("planSshTargetChecks: a target that does not answer fails naming the machine and the step, and nothing else is judged", () => {
  const down = planSshTargetChecks({ ...target, reach: { kind: "unreachable", detail: "ssh: connect to host 10.0.0.7 port 22: Connection refused" } });
  assert.deepEqual(statuses(down), ["fail ssh target 10.0.0.7"]);
  assert.equal(down[0]!.seen, "root@10.0.0.7:22, connecting: unreachable (ssh: connect to host 10.0.0.7 port 22: Connection refused)");
  assert.match(down[0]!.fix!, /StrictHostKeyChecking=yes root@10\.0\.0\.7 true$/);
  const changed = planSshTargetChecks({ ...target, reach: { kind: "host-key-changed", detail: "x" } })[0]!;
  assert.equal(changed.status, "fail");
  assert.equal(changed.seen, "root@10.0.0.7:22: host key does not match the one pinned in /etc/patchbench/ssh/known_hosts; refused, and the pin is never overwritten");
  assert.match(changed.fix!, /find out why 10\.0\.0\.7 has a new key .*deploy\/setup-runner\.sh --target 10\.0\.0\.7 --target-fingerprint SHA256:/);
  const unpinned = planSshTargetChecks({ ...target, knownHostsFile: null, reach: { kind: "not-configured", missing: "knownHostsFile" } })[0]!;
  assert.equal(unpinned.status, "fail");
  assert.match(unpinned.seen, /knownHostsFile is not set; not checked/);
  assert.match(unpinned.fix!, /^set boot\.ssh\.knownHostsFile/);
});

test("planRemotePeerChecks: netserver there and the same netperf version; a peer without netserver fails with the package", () => {
  assert.deepEqual(statuses(planRemotePeerChecks(peer, "2.7.0")), ["ok bench peer 10.0.1.2:2222", "ok bench peer 10.0.1.2:2222 netserver", "ok bench peer 10.0.1.2:2222 netperf version"]);
  assert.equal(planRemotePeerChecks(peer, "2.6.0").at(-1)!.status, "warn");
  const bare = planRemotePeerChecks({ ...peer, netserver: null, netserverVersion: null, ss: null }, "2.7.0");
  assert.deepEqual(statuses(bare), ["ok bench peer 10.0.1.2:2222", "fail bench peer 10.0.1.2:2222 netserver"]);
  assert.equal(bare[1]!.fix, "on 10.0.1.2: apt-get install netperf iproute2 (netperf is in Debian's non-free component)");
  const refused = planRemotePeerChecks({ ...peer, reach: { kind: "login-refused", detail: "root@10.0.1.2: Permission denied (publickey)." } }, "2.7.0");
  assert.deepEqual(statuses(refused), ["fail bench peer 10.0.1.2:2222"]);
  assert.match(refused[0]!.fix!, /append \/etc\/patchbench\/ssh\/id_ed25519\.pub to ~root\/\.ssh\/authorized_keys on 10\.0\.1\.2/);
});

test("classifySsh: ssh's own words, as remote-peer reads them", () => {
  const p: RemotePeer = { host: "h", port: 22, user: "root", identityFile: "/k", knownHostsFile: "/kh", dataAddr: "10.0.0.1", netserverPort: 12866, connectTimeoutSec: 5 };
  assert.deepEqual(classifySsh(p, { code: 0, stderr: "", timedOut: false }), { kind: "ok" });
  assert.deepEqual(classifySsh(p, { code: 1, stderr: "", timedOut: false }), { kind: "ok" }, "ssh worked; the script's exit is not reachability");
  assert.equal(classifySsh(p, { code: 255, stderr: "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key verification failed.\n", timedOut: false }).kind, "host-key-changed");
  assert.equal(classifySsh(p, { code: 255, stderr: "No ED25519 host key is known for [h]:22 and you have requested strict checking.\nHost key verification failed.\n", timedOut: false }).kind, "host-key-unknown");
  assert.deepEqual(classifySsh(p, { code: 255, stderr: "root@h: Permission denied (publickey).\n", timedOut: false }), { kind: "login-refused", detail: "root@h: Permission denied (publickey)." });
  assert.deepEqual(classifySsh(p, { code: 255, stderr: "ssh: connect to host h port 22: Connection timed out\n", timedOut: false }), {
    kind: "unreachable",
    detail: "ssh: connect to host h port 22: Connection timed out",
  });
  assert.equal(classifySsh(p, { code: null, stderr: "", timedOut: true }).kind, "timeout");
});

test("parseKeyValues: the remote scripts' lines; empty values are absent", () => {
  const kv = parseKeyValues("uname=6.1.0\nkexec=\nlockdown=[none] integrity\nnoise\n");
  assert.deepEqual([...kv], [["uname", "6.1.0"], ["lockdown", "[none] integrity"]]);
});

test("the doctor's table for a target whose kernel refuses kexec, a peer whose key changed and one without netserver (golden)", () => {
  const checks = [
    ...planSshTargetChecks({ ...target, kexecLoadDisabled: "1", freeDiskMB: 300 }),
    ...planRemotePeerChecks({ ...peer, reach: { kind: "host-key-changed", detail: "" } }, "2.7.0"),
    ...planRemotePeerChecks({ ...peer, host: "10.0.1.3", port: 22, name: "root@10.0.1.3:22", netserver: null, netserverVersion: null }, "2.7.0"),
  ];
  golden("runner-doctor-ssh.txt", formatDoctor(checks, false));
});
