import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { type SeriesBpfObject, seriesBpfSource } from "../../domain/series-bpf-program.ts";
import { ExecError } from "../../lib/exec.ts";
import type { Sandbox } from "../../lib/sandbox.ts";
import { isInside } from "./build-kernel.ts";
import { firstErrors } from "./first-errors.ts";

/** A BPF object far over this is not a selftest program: left out, not copied. */
const MAX_OBJECT_BYTES = 16 * 1024 * 1024;
const MAX_SOURCE_BYTES = 1024 * 1024;

/**
 * Pure: clang's argv for one program of the tree's BPF selftests, the way their Makefile
 * includes: the selftests' own headers, the tree's UAPI and libbpf headers, then the
 * runner's libbpf (bpf_helper_defs.h is generated, not in the tree) and multiarch headers.
 */
export function seriesClangArgv(source: string, out: string, includeDir: string | null): string[] {
  return [
    "clang",
    "-O2",
    "-g",
    "-target",
    "bpf",
    "-D__TARGET_ARCH_x86",
    ...(includeDir ? ["-I", includeDir] : []),
    "-I",
    "tools/testing/selftests/bpf",
    "-I",
    "tools/include/uapi",
    "-I",
    "tools/lib",
    "-idirafter",
    "/usr/include/bpf",
    "-idirafter",
    "/usr/include/x86_64-linux-gnu",
    "-c",
    source,
    "-o",
    out,
  ];
}

const NO_VMLINUX_H = /'vmlinux\.h' file not found/;

/** Copy aside, then rename: a reader never sees half a header; an existing one stays. */
function keepFile(from: string, to: string): void {
  if (existsSync(to) || !existsSync(dirname(to))) return;
  const tmp = `${to}.tmp-${process.pid}`;
  copyFileSync(from, tmp);
  renameSync(tmp, to);
}

export interface BuildSeriesBpfOptions {
  /** The worktree with the candidate checked out (and, when built here, its vmlinux). */
  treeDir: string;
  names: readonly string[];
  artifactsDir: string;
  sandbox: Sandbox;
  /**
   * Where vmlinux.h comes from when a program needs one: the candidate's `vmlinux` built in this
   * worktree (dumped by bpftool in the sandbox), a header kept with a kept candidate kernel, or
   * why there is none.
   */
  btf: { vmlinux: true } | { header: string } | { none: string };
  /** Where to keep a freshly dumped vmlinux.h (beside the kept kernel), for later flows that reuse it. */
  keepHeader?: string | null;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** What a program's build needs from the kernel that was not there: the runner's side, not the series'. */
export const isRunnerSideProblem = (problem: string): boolean => problem.startsWith("needs vmlinux.h") || problem.startsWith("not in the candidate tree");

/**
 * Compile the named programs of the candidate tree's BPF selftests, each in the sandbox (the
 * source is the series' code), and copy each object out as the regular file it must be. A
 * program that includes vmlinux.h gets one dumped (also in the sandbox) from the candidate's
 * vmlinux, which needs BTF, or the one kept with a kept candidate kernel. Never throws for the series' code: a missing or failing program
 * is a `problem` on its entry.
 */
export async function buildSeriesBpfObjects(o: BuildSeriesBpfOptions): Promise<SeriesBpfObject[]> {
  const copiesDir = join(o.artifactsDir, "bpf");
  mkdirSync(copiesDir, { recursive: true });
  // Both folders are the runner's own, fresh, outside the tree (nothing the series committed can
  // stand in for them): clang writes into one, vmlinux.h is read from the other (read-only).
  const outDir = mkdtempSync(join(tmpdir(), "pb-bpf-out-"));
  const includeDir = mkdtempSync(join(tmpdir(), "pb-bpf-inc-"));
  chmodSync(includeDir, 0o755);
  await o.sandbox.prepareWritable([outDir]);
  /** Why there is no vmlinux.h (null: dumped; undefined: not needed yet). */
  let vmlinuxProblem: string | null | undefined;
  const run = (argv: string[]) =>
    o.sandbox.run(argv, {
      cwd: o.treeDir,
      writable: [outDir],
      readOnly: [o.treeDir, includeDir],
      env: { LC_ALL: "C" },
      timeoutMs: o.timeoutMs ?? 120_000,
      maxOutput: 64 * 1024 * 1024,
      ...(o.signal ? { signal: o.signal } : {}),
    });
  const dumpVmlinuxH = async (): Promise<string | null> => {
    if (vmlinuxProblem === undefined) vmlinuxProblem = await tryDump();
    return vmlinuxProblem;
  };
  const tryDump = async (): Promise<string | null> => {
    if ("none" in o.btf) return o.btf.none;
    if ("header" in o.btf) {
      copyFileSync(o.btf.header, join(includeDir, "vmlinux.h"));
      chmodSync(join(includeDir, "vmlinux.h"), 0o644);
      return null;
    }
    if (!isInside(o.treeDir, join(o.treeDir, "vmlinux"))) return "the build left no vmlinux in the worktree";
    try {
      const r = await run(["bpftool", "btf", "dump", "file", "vmlinux", "format", "c"]);
      writeFileSync(join(includeDir, "vmlinux.h"), r.stdout, { mode: 0o644 });
      if (o.keepHeader) keepFile(join(includeDir, "vmlinux.h"), o.keepHeader);
      return null;
    } catch (e) {
      if (!(e instanceof ExecError)) throw e;
      return `the candidate's vmlinux has no BTF to make vmlinux.h from (build with CONFIG_DEBUG_INFO_BTF=y): ${firstErrors(`${e.result.stderr}${e.result.stdout}`)}`;
    }
  };
  try {
    const out: SeriesBpfObject[] = [];
    for (const name of o.names) {
      const source = seriesBpfSource(name);
      const entry: SeriesBpfObject = { name, source, object: null, sha256: null, problem: null };
      out.push(entry);
      const file = join(o.treeDir, source);
      if (!isInside(o.treeDir, file)) {
        entry.problem = "not in the candidate tree (as a regular file)";
        continue;
      }
      if (statSync(file).size > MAX_SOURCE_BYTES) {
        entry.problem = `over ${MAX_SOURCE_BYTES} bytes: not a selftest program`;
        continue;
      }
      const obj = join(outDir, `${name}.bpf.o`);
      const clang = async (): Promise<string | null> => {
        try {
          await run(seriesClangArgv(source, obj, vmlinuxProblem === null ? includeDir : null));
          return null;
        } catch (e) {
          if (!(e instanceof ExecError) || o.signal?.aborted) throw e;
          return `${e.result.stderr}${e.result.stdout}`;
        }
      };
      let failed = await clang();
      // Most selftest programs include vmlinux.h (directly or through a header): dump it once, then again.
      if (failed !== null && NO_VMLINUX_H.test(failed) && vmlinuxProblem === undefined) {
        if ((await dumpVmlinuxH()) === null) failed = await clang();
      }
      if (failed !== null) {
        entry.problem = NO_VMLINUX_H.test(failed) && vmlinuxProblem ? `needs vmlinux.h, but ${vmlinuxProblem}` : `clang could not build it: ${firstErrors(failed)}`;
        continue;
      }
      if (!isInside(outDir, obj) || statSync(obj).size > MAX_OBJECT_BYTES) {
        entry.problem = "clang left no object of a sane size";
        continue;
      }
      entry.object = join(copiesDir, `${name}.bpf.o`);
      copyFileSync(obj, entry.object);
      entry.sha256 = createHash("sha256").update(readFileSync(entry.object)).digest("hex");
    }
    return out;
  } finally {
    rmSync(includeDir, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
  }
}
