/**
 * Pure checks on a patch mail before it goes near `git am`: paths must stay
 * inside the tree, nothing may write into .git (in any spelling a
 * case-insensitive, NTFS or HFS+ checkout would read as .git), no submodule
 * (gitlink) changes, and binary or symlink changes — including retargeting
 * an existing symlink and type changes to or from one — are refused unless
 * the tree allows them. Returns reasons, empty when fine.
 *
 * It errs on the side of refusing: a header-looking line anywhere in the
 * mail is checked, so a removed line reading "-- .git/x" is refused too.
 */
export interface PatchPolicy {
  allowBinary: boolean;
  allowSymlinks: boolean;
}

const C_ESCAPES: Record<string, string> = { a: "\x07", b: "\b", t: "\t", n: "\n", v: "\v", f: "\f", r: "\r", '"': '"', "\\": "\\" };

/** git's C-style quoting of unusual path names ("a/\303\251\t.c"), as bytes read as latin1. */
export function unquoteCPath(quoted: string): string {
  let out = "";
  for (let i = 1; i < quoted.length - 1; i++) {
    const c = quoted[i]!;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const n = quoted[i + 1] ?? "";
    const oct = /^[0-7]{3}/.exec(quoted.slice(i + 1));
    if (oct) {
      out += String.fromCharCode(Number.parseInt(oct[0], 8));
      i += 3;
    } else {
      out += C_ESCAPES[n] ?? n;
      i += 1;
    }
  }
  return out;
}

/** A path field: a C-quoted string, or the rest of the line up to a tab (traditional diffs put a date there). */
function pathField(field: string): string {
  const f = field.trimStart();
  if (f.startsWith('"')) {
    const end = /^"(?:[^"\\]|\\.)*"/.exec(f);
    return end ? unquoteCPath(end[0]) : f;
  }
  return f.replace(/\t.*$/, "");
}

/** The two names of a `diff --git` line; with unquoted names containing spaces, every split is checked. */
function diffGitNames(rest: string): string[] {
  if (rest.includes('"')) {
    const names: string[] = [];
    const re = /"(?:[^"\\]|\\.)*"|\S+/g;
    for (let m = re.exec(rest); m; m = re.exec(rest)) names.push(m[0].startsWith('"') ? unquoteCPath(m[0]) : m[0]);
    return names;
  }
  // Unquoted: "a/x y b/x y" is ambiguous, so take each word and the whole as well.
  return [rest, ...rest.split(" ")];
}

// HFS+ ignores these code points when comparing names (git's is_hfs_dotgit); the mail is read as
// latin1, so they arrive as their UTF-8 bytes and are decoded here first.
const HFS_IGNORED = /[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g;

/** Is one path component .git as some filesystem would read it? */
export function isDotGit(component: string): boolean {
  let name = component;
  try {
    name = Buffer.from(component, "latin1").toString("utf8");
  } catch {
    /* keep latin1 */
  }
  const n = name.replace(HFS_IGNORED, "").toLowerCase();
  // NTFS drops trailing dots and spaces, and "git~1" is .git's 8.3 short name; "::$INDEX_ALLOCATION" is its stream.
  const ntfs = n.replace(/::\$index_allocation$/, "").replace(/[. ]+$/, "");
  return ntfs === ".git" || ntfs === "git~1" || n === ".git";
}

/** Why `p` may not be written, or null. `strip` removes git's a/ or b/ prefix first. */
function badPath(p: string, strip: boolean): string | null {
  if (p === "/dev/null" || p === "") return null;
  if (p.startsWith("/")) return `absolute path ${p}`;
  const parts = p.split("/");
  const inTree = strip && parts.length > 1 ? parts.slice(1) : parts;
  if (inTree.includes("..") || parts.includes("..")) return `path leaves the tree: ${p}`;
  if (parts.some(isDotGit)) return `path writes into .git: ${p}`;
  return null;
}

const MODE_LINE = /^(old mode|new mode|deleted file mode|new file mode) (\d{6})$/;
const INDEX_LINE = /^index [0-9a-f]+\.\.[0-9a-f]+ (\d{6})$/;

export function validatePatch(text: string, policy: PatchPolicy): { files: string[]; problems: string[] } {
  const problems = new Set<string>();
  const files = new Set<string>();
  let sawDiff = false;
  const lines = text.split("\n").map((l) => l.replace(/\r$/, ""));
  const check = (p: string, strip: boolean, list: boolean) => {
    const bad = badPath(p, strip);
    if (bad) problems.add(bad);
    else if (list && p !== "/dev/null") files.add(strip ? p.split("/").slice(1).join("/") || p : p);
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith("diff --git ")) {
      sawDiff = true;
      const rest = line.slice("diff --git ".length);
      const names = diffGitNames(rest);
      for (const n of names) check(n, true, false);
      const same = /^a\/(\S+) b\/\1$/.exec(rest);
      if (same?.[1] && !badPath(same[1], false)) files.add(same[1]);
      continue;
    }
    const header = /^(rename from|rename to|copy from|copy to|rename old|rename new) (.+)$/.exec(line);
    if (header) {
      check(pathField(header[2]!), false, header[1]!.endsWith("to") || header[1]!.endsWith("new"));
      continue;
    }
    if (line.startsWith("--- ") && lines[i + 1]?.startsWith("+++ ")) {
      check(pathField(line.slice(4)), true, false);
      check(pathField(lines[i + 1]!.slice(4)), true, true);
      i++;
      continue;
    }
    if (!policy.allowBinary && (line === "GIT binary patch" || /^Binary files .* differ$/.test(line))) {
      problems.add("binary change (not allowed by this tree's config)");
    }
    if (!sawDiff) continue;
    const mode = MODE_LINE.exec(line)?.[2] ?? INDEX_LINE.exec(line)?.[1];
    if (mode === "160000") problems.add("submodule (gitlink) change");
    if (mode === "120000" && !policy.allowSymlinks) {
      problems.add(
        line.startsWith("index ")
          ? "retargets an existing symlink (not allowed by this tree's config)"
          : line.startsWith("new file")
            ? "adds a symlink (not allowed by this tree's config)"
            : "symlink change (not allowed by this tree's config)",
      );
    }
  }
  if (!sawDiff && !/^--- .*\n\+\+\+ /m.test(text)) problems.add("no diff found in the mail");
  return { files: [...files], problems: [...problems] };
}
