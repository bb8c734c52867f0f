import assert from "node:assert/strict";
import { test } from "node:test";
import { benchSchema, treeSchema } from "../../config/schema.ts";
import type { Variant } from "../../domain/bench.ts";
import { reproduceCommands } from "../run-bench-stage.ts";
import { parseSsListenerPid, type RemotePeer, remoteNetserverCommand, sshArgv, sshFailure } from "./remote-peer.ts";

const peer: RemotePeer = {
  host: "peer.lab",
  port: 2222,
  user: "bench",
  identityFile: "/etc/patchbench/id_peer",
  knownHostsFile: "/etc/patchbench/peer_known_hosts",
  dataAddr: "10.0.0.2",
  netserverPort: 12866,
  connectTimeoutSec: 10,
};

test("ssh argv: pinned host key only, no user config, the remote command as separate words after --", () => {
  const argv = sshArgv(peer, remoteNetserverCommand(peer.dataAddr, peer.netserverPort, "0123456789abcdef"));
  assert.deepEqual(argv.slice(0, 3), ["ssh", "-F", "/dev/null"]);
  for (const o of ["BatchMode=yes", "StrictHostKeyChecking=yes", "UserKnownHostsFile=/etc/patchbench/peer_known_hosts", "GlobalKnownHostsFile=/dev/null", "UpdateHostKeys=no"]) {
    assert.ok(argv.includes(o), o);
  }
  const dd = argv.indexOf("--");
  assert.deepEqual(argv.slice(dd - 5, dd + 1), ["-p", "2222", "-l", "bench", "peer.lab", "--"]);
  assert.deepEqual(argv.slice(dd + 1), ["exec", "env", "PATCHBENCH_NETSERVER=0123456789abcdef", "netserver", "-L", "10.0.0.2,inet", "-p", "12866", "-D"]);
});

test("the remote command takes only an IPv4 literal and a port", () => {
  assert.throws(() => remoteNetserverCommand("10.0.0.2;reboot", 12866, "0123456789abcdef"), /not an IPv4 address/);
  assert.throws(() => remoteNetserverCommand("$(id)", 12866, "0123456789abcdef"), /not an IPv4 address/);
  assert.throws(() => remoteNetserverCommand("10.0.0.2", 70000, "0123456789abcdef"), /out of range/);
  assert.throws(() => remoteNetserverCommand("10.0.0.2", 12866, "x; reboot"), /16 hex digits/);
});

test("ssh failures in words: host key changed, unknown key, unreachable, login refused; a remote exit is not an ssh failure", () => {
  const r = (code: number | null, stderr: string, timedOut = false) => ({ code, stderr, timedOut });
  assert.match(
    sshFailure(peer, "reading its kernel", r(255, "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key verification failed.\n")) ?? "",
    /^remote peer bench@peer\.lab:2222, reading its kernel: host key does not match the one pinned in \/etc\/patchbench\/peer_known_hosts; refused/,
  );
  assert.match(sshFailure(peer, "x", r(255, "No ED25519 host key is known for [peer.lab]:2222 and you have requested strict checking.\nHost key verification failed.\n")) ?? "", /host key is not the one pinned/);
  assert.match(sshFailure(peer, "x", r(255, "ssh: connect to host peer.lab port 2222: No route to host\n")) ?? "", /: unreachable \(ssh: connect to host peer\.lab port 2222: No route to host\)$/);
  assert.match(sshFailure(peer, "x", r(255, "bench@peer.lab: Permission denied (publickey).\n")) ?? "", /ssh login refused/);
  assert.match(sshFailure(peer, "x", r(null, "", true)) ?? "", /ssh timed out/);
  assert.equal(sshFailure(peer, "x", r(127, "sh: 1: exec: netserver: not found\n")), null);
});

test("ss -Hltnp: the pid listening on our port", () => {
  const out = [
    'LISTEN 0      4096         0.0.0.0:22         0.0.0.0:*    users:(("sshd",pid=101,fd=3))',
    'LISTEN 0      128         10.0.0.2:12866      0.0.0.0:*    users:(("netserver",pid=4242,fd=3))',
  ].join("\n");
  assert.equal(parseSsListenerPid(out, 12866), 4242);
  assert.equal(parseSsListenerPid(out, 1286), null);
  assert.equal(parseSsListenerPid("", 12866), null);
});

test("config: bench.remote is checked before it reaches a command line, and the remote topology needs it", () => {
  const ok = { host: "peer.lab", identityFile: "/k", knownHostsFile: "/kh", dataAddr: "10.0.0.2" };
  assert.equal(benchSchema.parse({ remote: ok }).remote?.port, 22);
  assert.equal(benchSchema.safeParse({ remote: { ...ok, host: "-oProxyCommand=sh" } }).success, false);
  assert.equal(benchSchema.safeParse({ remote: { ...ok, dataAddr: "10.0.0.2 -D" } }).success, false);
  assert.equal(benchSchema.safeParse({ remote: { ...ok, user: "root;id" } }).success, false);
  const tree = treeSchema.safeParse({ name: "t", url: "u", bench: { topologies: ["remote"] } });
  assert.equal(tree.success, false);
  assert.match(JSON.stringify(tree.error?.issues), /the remote topology needs bench.remote/);
  assert.equal(treeSchema.safeParse({ name: "t", url: "u", bench: { topologies: ["remote"], remote: ok } }).success, true);
});

test("reproduce commands for a remote cell: netserver on the peer, netperf on the host against its data address", () => {
  const bench = benchSchema.parse({ topologies: ["remote"], remote: { host: "peer.lab", identityFile: "/k", knownHostsFile: "/kh", dataAddr: "10.0.0.2" } });
  const out = reproduceCommands(bench, [{ test: "TCP_RR", size: 1, topology: "remote" }], bench.variants as Variant[]);
  assert.ok(out.includes("# remote: on the peer root@peer.lab: netserver -L 10.0.0.2,inet -p 12866 -D"), out.join("\n"));
  const netperf = out.find((l) => l.startsWith("netperf "));
  assert.match(netperf ?? "", / -H 10\.0\.0\.2 .*-p 12866/);
  assert.doesNotMatch(out.join("\n"), /ip netns/);
});
