import { SERIES_BPF_NAME, SERIES_BPF_PROGS_DIR } from "./series-bpf-program.ts";

/**
 * What is known, before any build, of the BPF selftest programs of a candidate tree (the base
 * tree plus the series): the base tree's SERIES_BPF_PROGS_DIR with the series' diffs applied.
 * A `/bench` arm naming a program not in it is refused when asked, not found out after the build.
 */
export interface CandidateBpfPrograms {
  /** Program names (file names without `.c`) of the candidate tree's SERIES_BPF_PROGS_DIR. */
  programs: ReadonlySet<string>;
  /** Those the series itself creates, in patch order. */
  added: readonly string[];
  /** Those of the base tree the series deletes (or renames away). */
  deleted: readonly string[];
  /** The base commit the base tree's programs were read from. */
  base: string | null;
}

/** How the series leaves each program it touches: present (and whether it created it) or gone. */
export type SeriesBpfChanges = Map<string, { present: boolean; created: boolean }>;

const PROG_FILE = new RegExp(`^${SERIES_BPF_PROGS_DIR.replace(/[/.]/g, "\\$&")}/([^/]+)\\.c$`);

/** Pure: the program a path of the tree is, or null (another file, a subfolder, a name no arm can give). */
export function bpfProgramOfPath(path: string): string | null {
  const name = PROG_FILE.exec(path)?.[1];
  return name !== undefined && SERIES_BPF_NAME.test(name) ? name : null;
}

/**
 * Pure: the programs a series creates, changes, renames or deletes, from its patches' decoded
 * bodies in order. A body is read as `git am` reads it: the first `diff --git` line starts the
 * diff, and each file's extended header says what happens to it. Null when a patch has no diff
 * to read (an attachment, an empty commit): then nothing is known.
 */
export function seriesBpfChanges(patchBodies: readonly string[]): SeriesBpfChanges | null {
  const out: SeriesBpfChanges = new Map();
  const put = (path: string | null, present: boolean, created: boolean) => {
    const name = path === null ? null : bpfProgramOfPath(path);
    if (name === null) return;
    const was = out.get(name);
    // A later change keeps what an earlier patch made of the file: created stays created.
    out.set(name, { present, created: present && (created || (was?.created ?? false)) });
  };
  for (const body of patchBodies) {
    let file: { a: string; b: string; from: string | null; to: string | null; kind: "change" | "new" | "deleted" | "rename" | "copy" } | null = null;
    let sawDiff = false;
    const flush = () => {
      if (!file) return;
      if (file.kind === "new") put(file.b, true, true);
      else if (file.kind === "deleted") put(file.a, false, false);
      else if (file.kind === "rename") {
        put(file.from ?? file.a, false, false);
        put(file.to ?? file.b, true, true);
      } else if (file.kind === "copy") put(file.to ?? file.b, true, true);
      else if (!out.has(bpfProgramOfPath(file.b) ?? "")) put(file.b, true, false);
      file = null;
    };
    for (const raw of body.split("\n")) {
      const line = raw.replace(/\r$/, "");
      if (line.startsWith("diff --git ")) {
        flush();
        sawDiff = true;
        // Quoted or space-holding names are no program name an arm can give: such a file is left as "other".
        const m = /^diff --git a\/(\S+) b\/(\S+)$/.exec(line);
        file = m ? { a: m[1]!, b: m[2]!, from: null, to: null, kind: "change" } : null;
        continue;
      }
      if (!file) continue;
      const f: NonNullable<typeof file> = file;
      if (line.startsWith("new file mode ")) f.kind = "new";
      else if (line.startsWith("deleted file mode ")) f.kind = "deleted";
      else if (line.startsWith("rename from ")) [f.kind, f.from] = ["rename", line.slice(12)];
      else if (line.startsWith("rename to ")) [f.kind, f.to] = ["rename", line.slice(10)];
      else if (line.startsWith("copy from ")) [f.kind, f.from] = ["copy", line.slice(10)];
      else if (line.startsWith("copy to ")) [f.kind, f.to] = ["copy", line.slice(8)];
      else if (line.startsWith("@@") || line.startsWith("--- ") || line.startsWith("Binary files ") || line === "GIT binary patch") flush();
    }
    flush();
    if (!sawDiff) return null;
  }
  return out;
}

/**
 * Pure: the candidate tree's programs from the base tree's SERIES_BPF_PROGS_DIR entries (paths
 * as `git ls-tree --name-only` gives them) and what the series does to them.
 */
export function candidateBpfPrograms(basePaths: readonly string[], changes: SeriesBpfChanges, base: string | null): CandidateBpfPrograms {
  const inBase = new Set(basePaths.map(bpfProgramOfPath).filter((n): n is string => n !== null));
  const programs = new Set(inBase);
  const added: string[] = [];
  const deleted: string[] = [];
  for (const [name, c] of changes) {
    if (c.present) programs.add(name);
    else programs.delete(name);
    if (c.present && c.created) added.push(name);
    if (!c.present && inBase.has(name)) deleted.push(name);
  }
  return { programs, added, deleted, base };
}
