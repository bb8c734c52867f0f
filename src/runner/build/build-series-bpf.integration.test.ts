import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { SERIES_BPF_PROGS_DIR } from "../../domain/series-bpf-program.ts";
import { defaultSandbox } from "../../lib/sandbox.ts";
import { SOCKOPS_BUSY_POLL_SOURCE } from "../bench/bpf-attach.ts";
import { buildSeriesBpfObjects, isRunnerSideProblem } from "./build-series-bpf.ts";

// Real clang in the runner's real sandbox (bubblewrap as the sandbox user), on a scratch tree
// holding what a series' BPF selftests folder can hold.
const skip = process.geteuid?.() !== 0 ? "needs root (the sandbox drops to its user)" : false;
const HOST_BTF = "/sys/kernel/btf/vmlinux";

let work: string;
let tree: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), "pb-series-bpf-"));
  tree = join(work, "worktrees", "t");
  const progs = join(tree, SERIES_BPF_PROGS_DIR);
  mkdirSync(progs, { recursive: true });
  // The sock_ops program as a series would add it (its constant written in, no -D from us).
  writeFileSync(join(progs, "pb_sockops.c"), SOCKOPS_BUSY_POLL_SOURCE.replace("BUSY_POLL_US", "50"));
  // A helper header next to it, included the way selftests include bpf_misc.h.
  writeFileSync(join(progs, "pb_misc.h"), "#define PB_RET 1\n");
  writeFileSync(
    join(progs, "pb_uses_header.c"),
    '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n#include "pb_misc.h"\nSEC("sockops") int p(struct bpf_sock_ops *s) { return PB_RET; }\nchar LICENSE[] SEC("license") = "GPL";\n',
  );
  writeFileSync(join(progs, "pb_broken.c"), "int f( { return 0; }\n");
  writeFileSync(join(progs, "pb_vmlinux.c"), '#include "vmlinux.h"\nint x;\n');
  // A link out of the tree is not a program of the series.
  symlinkSync("/etc/passwd", join(progs, "pb_link.c"));
  // A program that reads a runner file at compile time gets the sandbox's view: no data dir.
  mkdirSync(join(work, "data"), { recursive: true });
  writeFileSync(join(work, "data", "secret.h"), "#error the data dir is visible\n");
  writeFileSync(join(progs, "pb_peek.c"), `#include "${join(work, "data", "secret.h")}"\n`);
  execFileSync("chmod", ["-R", "a+rX", work]);
});
after(() => rmSync(work, { recursive: true, force: true }));

test("series BPF programs: built in the sandbox and copied out, each failure named, nothing from outside the tree", { skip }, async () => {
  const artifactsDir = join(work, "artifacts", "flow-x");
  const names = ["pb_sockops", "pb_uses_header", "pb_broken", "pb_vmlinux", "pb_missing", "pb_link", "pb_peek"];
  const out = await buildSeriesBpfObjects({ treeDir: tree, names, artifactsDir, sandbox: defaultSandbox([work]), btf: { vmlinux: true } });
  const by = Object.fromEntries(out.map((o) => [o.name, o]));
  assert.deepEqual(out.map((o) => o.name), names);

  const ok = by.pb_sockops!;
  assert.equal(ok.problem, null);
  assert.equal(ok.source, `${SERIES_BPF_PROGS_DIR}/pb_sockops.c`);
  assert.equal(ok.object, join(artifactsDir, "bpf", "pb_sockops.bpf.o"));
  // A BPF ELF object with the program's section, and the hash of what was copied.
  const sections = execFileSync("readelf", ["-S", "-W", ok.object!], { encoding: "utf8" });
  assert.match(execFileSync("readelf", ["-h", ok.object!], { encoding: "utf8" }), /Linux BPF/);
  assert.match(sections, /\bsockops\b/);
  assert.match(ok.sha256 ?? "", /^[0-9a-f]{64}$/);
  assert.ok(readFileSync(ok.object!).length > 0);

  assert.equal(by.pb_uses_header!.problem, null, "a header beside the program is found");
  assert.match(by.pb_broken!.problem ?? "", /^clang could not build it: .*error:/);
  assert.equal(isRunnerSideProblem(by.pb_broken!.problem!), false, "the series' code not compiling is the series'");
  assert.equal(by.pb_broken!.object, null);
  assert.match(by.pb_vmlinux!.problem ?? "", /^needs vmlinux\.h, but the build left no vmlinux in the worktree/);
  assert.equal(by.pb_missing!.problem, "not in the candidate tree (as a regular file)");
  assert.equal(by.pb_link!.problem, "not in the candidate tree (as a regular file)");
  assert.match(by.pb_peek!.problem ?? "", /clang could not build it: .*(No such file|not found)/);
  assert.doesNotMatch(by.pb_peek!.problem ?? "", /the data dir is visible/);
});

test("a program that includes vmlinux.h gets one dumped from the candidate's BTF", { skip: skip || (!existsSync(HOST_BTF) && "no /sys/kernel/btf/vmlinux here") }, async () => {
  // Raw BTF is what bpftool reads out of a vmlinux built with CONFIG_DEBUG_INFO_BTF=y; the host's stands in.
  const t = join(work, "worktrees", "btf");
  mkdirSync(join(t, SERIES_BPF_PROGS_DIR), { recursive: true });
  copyFileSync(HOST_BTF, join(t, "vmlinux"));
  writeFileSync(
    join(t, SERIES_BPF_PROGS_DIR, "pb_core.c"),
    '#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\nSEC("sockops") int p(struct bpf_sock_ops *s) { return s->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB; }\nchar LICENSE[] SEC("license") = "GPL";\n',
  );
  execFileSync("chmod", ["-R", "a+rX", t]);
  const keptDir = join(work, "artifacts", "kernel-k1");
  mkdirSync(keptDir, { recursive: true });
  const kept = join(keptDir, "vmlinux.h");
  const sandbox = defaultSandbox([work]);
  const [o] = await buildSeriesBpfObjects({ treeDir: t, names: ["pb_core"], artifactsDir: join(work, "artifacts", "flow-btf"), sandbox, btf: { vmlinux: true }, keepHeader: kept });
  assert.equal(o?.problem, null);
  assert.match(execFileSync("readelf", ["-h", o!.object!], { encoding: "utf8" }), /Linux BPF/);
  // The header is kept beside the kernel: a later flow that reuses the kernel (no vmlinux in its worktree) builds with it.
  assert.match(readFileSync(kept, "utf8"), /struct bpf_sock_ops \{/);
  rmSync(join(t, "vmlinux"));
  const [again] = await buildSeriesBpfObjects({ treeDir: t, names: ["pb_core"], artifactsDir: join(work, "artifacts", "flow-btf2"), sandbox, btf: { header: kept } });
  assert.equal(again?.problem, null);
  // Without either, the program is left out with the reason given: the runner's side, not the series'.
  const [none] = await buildSeriesBpfObjects({ treeDir: t, names: ["pb_core"], artifactsDir: join(work, "artifacts", "flow-btf3"), sandbox, btf: { none: "the kept kernel kept no vmlinux.h" } });
  assert.equal(none?.problem, "needs vmlinux.h, but the kept kernel kept no vmlinux.h");
  assert.equal(isRunnerSideProblem(none!.problem!), true);
});
