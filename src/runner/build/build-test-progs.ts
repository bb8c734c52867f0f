import { chmodSync, closeSync, constants, copyFileSync, fstatSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProgsBuild } from "../../domain/results.ts";
import { ExecError } from "../../lib/exec.ts";
import type { Git } from "../../lib/git.ts";
import type { Sandbox } from "../../lib/sandbox.ts";
import { isInside } from "./build-kernel.ts";
import { firstErrors } from "./first-errors.ts";
import { BPF_SELFTESTS_DIR, planSlimTestProgs } from "./plan-test-progs.ts";

/** What the selftests Makefile reads outside tools/: bpftool's disassembler, bpf_doc.py, UAPI headers. */
const SOURCE_PATHS = ["tools", "kernel/bpf", "scripts", "include"];
const MAX_FILE_BYTES = 64 * 1024 * 1024;
/** The start of the reason a tree has no test_progs to build (selftests skipped, not failed). */
export const NO_BPF_SELFTESTS = `no ${BPF_SELFTESTS_DIR}`;

/** Where a side's build is kept under the flow's artifacts, and found in the guest's share. */
export const testProgsDirName = (label: "base" | "candidate") => `test_progs-${label}`;

/**
 * Write a vmlinux's .BTF section out as a raw BTF file (what bpftool and the selftests' VMLINUX_BTF
 * read): the types alone, so two builds of one commit give the same bytes, unlike the whole
 * vmlinux whose debug info names the worktree. False when there is no such section.
 */
export function extractBtf(vmlinux: string, out: string): boolean {
  const at = btfSection(vmlinux);
  if (!at) return false;
  const fd = openSync(vmlinux, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const b = Buffer.alloc(at.size);
    if (readSync(fd, b, 0, at.size, at.offset) !== at.size) return false;
    writeFileSync(out, b, { mode: 0o644 });
    return true;
  } finally {
    closeSync(fd);
  }
}

/**
 * Where an ELF file's .BTF section is. Reads only the section headers; anything that is not a
 * readable 64-bit little-endian ELF, or a section over 256 MiB, is null.
 */
function btfSection(file: string): { offset: number; size: number } | null {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    if (!fstatSync(fd).isFile()) return null;
    const read = (pos: number, len: number) => {
      const b = Buffer.alloc(len);
      return readSync(fd, b, 0, len, pos) === len ? b : null;
    };
    const h = read(0, 64);
    if (h?.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2 || h[5] !== 1) return null;
    const shoff = Number(h.readBigUInt64LE(0x28));
    const [shentsize, shnum, shstrndx] = [h.readUInt16LE(0x3a), h.readUInt16LE(0x3c), h.readUInt16LE(0x3e)];
    if (shentsize < 64 || shnum === 0 || shnum > 65535 || shstrndx >= shnum) return null;
    const sections = read(shoff, shentsize * shnum);
    if (!sections) return null;
    const at = (i: number) => ({ name: sections.readUInt32LE(i * shentsize), offset: Number(sections.readBigUInt64LE(i * shentsize + 0x18)), size: Number(sections.readBigUInt64LE(i * shentsize + 0x20)) });
    const strtab = at(shstrndx);
    const names = strtab.size > 0 && strtab.size < 1 << 20 ? read(strtab.offset, strtab.size) : null;
    if (!names) return null;
    for (let i = 0; i < shnum; i++) {
      const s = at(i);
      if (s.name < names.length && names.toString("latin1", s.name, names.indexOf(0, s.name)) === ".BTF") {
        return s.size > 0 && s.size <= 256 * 1024 * 1024 ? { offset: s.offset, size: s.size } : null;
      }
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

export interface BuildTestProgsRequest {
  label: "base" | "candidate";
  /** The mirror: sources are read from the commit with git, never from a worktree. */
  repo: string;
  commit: string;
  /** Test names (not filters) the build must hold. */
  tests: readonly string[];
  /** A BTF file for vmlinux.h (the kernel's vmlinux when it has BTF, else the runner's). */
  btf: string;
  artifactsDir: string;
  git: Git;
  sandbox: Sandbox;
  timeoutMs: number;
  signal?: AbortSignal;
}


/**
 * Build test_progs from one side's tree with only the wanted tests (planSlimTestProgs): sources
 * exported by git from the commit, unpacked and built by the tree's own Makefile (libbpf,
 * bpftool, resolve_btfids from the tree; Debian's clang) in the sandbox — the series' code runs
 * there — and the binary and its BPF objects copied out as regular files into
 * `<artifacts>/test_progs-<label>/`. Never throws for what the tree does: `problem` says it.
 */
export async function buildTestProgs(r: BuildTestProgsRequest): Promise<TestProgsBuild> {
  const t0 = Date.now();
  const result = (o: Partial<TestProgsBuild>): TestProgsBuild => ({ label: r.label, dir: null, present: [], problem: null, seconds: Math.round((Date.now() - t0) / 100) / 10, ...o });
  const sig = r.signal ? { signal: r.signal } : {};
  const spec = (p: string) => `${r.commit}:${p}`;
  if ((await r.git(["cat-file", "-e", spec(`${BPF_SELFTESTS_DIR}/Makefile`)], { repo: r.repo, okCodes: "any" })).code !== 0) {
    return result({ problem: `${NO_BPF_SELFTESTS} in this tree` });
  }
  const names = r.tests.filter((t) => /^[A-Za-z0-9_]+$/.test(t));
  const pattern = `^void (serial_)?test_(${names.join("|")})\\((void)?\\)`;
  const grep = names.length
    ? await r.git(["grep", "-l", "-z", "-E", pattern, r.commit, "--", `${BPF_SELFTESTS_DIR}/prog_tests/*.c`], { repo: r.repo, okCodes: [0, 1], ...sig })
    : { stdout: "" };
  const progTests = new Map<string, string>();
  for (const hit of grep.stdout.split("\0").filter(Boolean)) {
    const path = hit.slice(r.commit.length + 1);
    progTests.set(path, (await r.git(["show", spec(path)], { repo: r.repo, maxOutput: 4 * 1024 * 1024, ...sig })).stdout);
  }
  const listed = await r.git(["ls-tree", "-r", "-z", "--name-only", r.commit, "--", `${BPF_SELFTESTS_DIR}/prog_tests`, `${BPF_SELFTESTS_DIR}/progs`], { repo: r.repo, ...sig });
  const makefile = (await r.git(["show", spec(`${BPF_SELFTESTS_DIR}/Makefile`)], { repo: r.repo, ...sig })).stdout;
  const plan = planSlimTestProgs({ wanted: names, progTests, sources: listed.stdout.split("\0").filter(Boolean), makefile });
  if (plan.present.length === 0) return result({ problem: null, present: [] });

  const tmp = mkdtempSync(join(tmpdir(), "pb-test-progs-"));
  // The sandbox user reads the tar and the BTF from here and builds under src/.
  chmodSync(tmp, 0o755);
  const src = join(tmp, "src");
  const tar = join(tmp, "src.tar");
  const btf = join(tmp, "vmlinux.btf");
  const logFile = join(r.artifactsDir, `${testProgsDirName(r.label)}.log`);
  try {
    mkdirSync(src);
    mkdirSync(r.artifactsDir, { recursive: true });
    copyFileSync(r.btf, btf);
    chmodSync(btf, 0o644);
    await r.git(["archive", "--format=tar", "-o", tar, r.commit, "--", ...SOURCE_PATHS, ...plan.exclude.map((p) => `:(exclude,literal)${p}`)], { repo: r.repo, timeoutMs: 300_000, ...sig });
    chmodSync(tar, 0o644);
    await r.sandbox.prepareWritable([src]);
    const run = (argv: string[], timeoutMs: number) =>
      r.sandbox.run(argv, { cwd: src, writable: [src], readOnly: [tar, btf], env: { LC_ALL: "C" }, timeoutMs, maxOutput: 32 * 1024 * 1024, ...sig });
    await run(["tar", "-xf", tar, "-C", src, "--no-same-owner", "--no-same-permissions"], 300_000);
    const vars = Object.entries({ ...plan.makeVars, VMLINUX_BTF: btf }).map(([k, v]) => `${k}=${v}`);
    try {
      const made = await run(["make", "-C", BPF_SELFTESTS_DIR, `-j${availableParallelism()}`, ...vars, "test_progs"], r.timeoutMs);
      writeFileSync(logFile, `${made.stdout}${made.stderr}`);
    } catch (e) {
      if (!(e instanceof ExecError) || r.signal?.aborted) throw e;
      const out = `${e.result.stdout}${e.result.stderr}`;
      writeFileSync(logFile, out);
      const why = e.result.timedOut ? `over its ${Math.round(r.timeoutMs / 1000)} s deadline` : firstErrors(out, /\berror\b|Error \d|\*\*\*/);
      return result({ problem: `test_progs does not build: ${why}` });
    }
    const built = join(src, BPF_SELFTESTS_DIR);
    const dir = join(r.artifactsDir, testProgsDirName(r.label));
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    // The binary and the objects tests open at run time; regular files only, copied without following links.
    // The build ran the tree's Makefile: the folder or its files may have been swapped for links out of src/.
    if (!realpathSync(built).startsWith(`${realpathSync(src)}/`)) return result({ problem: "the build replaced its output folder with a link out of the tree" });
    for (const name of readdirSync(built)) {
      if (name !== "test_progs" && !name.endsWith(".bpf.o")) continue;
      if (!isInside(src, join(built, name)) || lstatSync(join(built, name)).size > MAX_FILE_BYTES) continue;
      copyFileSync(join(built, name), join(dir, name), constants.COPYFILE_EXCL);
    }
    if (!lstatSync(join(dir, "test_progs"), { throwIfNoEntry: false })?.isFile()) return result({ problem: "the build left no test_progs" });
    return result({ dir, present: plan.present });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
