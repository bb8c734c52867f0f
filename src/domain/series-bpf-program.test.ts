import assert from "node:assert/strict";
import { test } from "node:test";
import type { VariantSetting } from "./bench.ts";
import { resolveSeriesBpf, type SeriesBpfObject, seriesBpfNames, seriesBpfSource } from "./series-bpf-program.ts";

const arm = (name: string, settings: VariantSetting[]) => ({ name, settings, claimedAs: null });
const sockops: VariantSetting = { kind: "bpf-cgroup", object: "pb_sockops", source: "series" };
const tc: VariantSetting = { kind: "tc-bpf", object: "pb_delay", section: "tc", side: "client", source: "series" };
const runnerObj: VariantSetting = { kind: "bpf-cgroup", object: "/srv/objects/x.o" };
const busy: VariantSetting = { kind: "sysctl", key: "net.core.busy_read", value: "50" };

test("seriesBpfSource: a name is a file of the selftests' progs folder; anything path-like is refused", () => {
  assert.equal(seriesBpfSource("tcp_splice_sockops"), "tools/testing/selftests/bpf/progs/tcp_splice_sockops.c");
  for (const bad of ["../x", "a/b", "x.c", "", ".hidden", "a b"]) assert.throws(() => seriesBpfSource(bad), /not a BPF program name/);
});

test("seriesBpfNames: each series program once, runner objects left alone", () => {
  assert.deepEqual(seriesBpfNames([arm("a", [busy, sockops, tc]), arm("b", [sockops, runnerObj])]), ["pb_sockops", "pb_delay"]);
  assert.deepEqual(seriesBpfNames([arm("a", [busy, runnerObj])]), []);
});

test("resolveSeriesBpf: built objects take the names' place; an arm with a program that did not build is left out, said", () => {
  const built: SeriesBpfObject[] = [
    { name: "pb_sockops", source: seriesBpfSource("pb_sockops"), object: "/w/artifacts/f/bpf/pb_sockops.bpf.o", sha256: "ab", problem: null },
    { name: "pb_delay", source: seriesBpfSource("pb_delay"), object: null, sha256: null, problem: "clang could not build it: x.c:1: error: y" },
  ];
  const r = resolveSeriesBpf([arm("ok", [busy, sockops, runnerObj]), arm("bad", [sockops, tc]), arm("plain", [busy])], built);
  assert.deepEqual(r.arms.map((a) => a.name), ["ok", "plain"]);
  assert.deepEqual(r.arms[0]!.settings, [busy, { kind: "bpf-cgroup", object: "/w/artifacts/f/bpf/pb_sockops.bpf.o", source: "runner", builtFrom: "tools/testing/selftests/bpf/progs/pb_sockops.c" }, runnerObj]);
  assert.equal(r.arms[0]!.claimedAs, null, "the rest of the arm is kept");
  assert.deepEqual(r.dropped, [{ name: "bad", why: "arm bad not measured: tools/testing/selftests/bpf/progs/pb_delay.c: clang could not build it: x.c:1: error: y" }]);
  // Nothing built (a flow whose build stage did not run them): said, not guessed.
  assert.match(resolveSeriesBpf([arm("x", [tc])], []).dropped[0]!.why, /pb_delay\.c: not built by this flow's build stage/);
});
