/**
 * Pure checks on a patch mail before it goes near `git am`: paths must stay
 * inside the tree, nothing may write into .git, and binary or symlink changes
 * are refused unless the tree allows them. Returns reasons, empty when fine.
 */
export interface PatchPolicy {
  allowBinary: boolean;
  allowSymlinks: boolean;
}

const PATH_LINE = /^(?:diff --git a\/(\S+) b\/(\S+)|--- (?:a\/)?(\S+)|\+\+\+ (?:b\/)?(\S+)|rename (?:from|to) (.+)|copy (?:from|to) (.+))$/;

function badPath(p: string): string | null {
  if (p === "/dev/null") return null;
  if (p.startsWith("/")) return `absolute path ${p}`;
  const parts = p.split("/");
  if (parts.includes("..")) return `path leaves the tree: ${p}`;
  if (parts.some((x) => x.toLowerCase() === ".git")) return `path writes into .git: ${p}`;
  return null;
}

export function validatePatch(text: string, policy: PatchPolicy): { files: string[]; problems: string[] } {
  const problems = new Set<string>();
  const files = new Set<string>();
  let sawDiff = false;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (line.startsWith("diff --git ")) sawDiff = true;
    const m = PATH_LINE.exec(line);
    if (m) {
      for (const p of m.slice(1)) {
        if (!p) continue;
        const unq = p.replace(/\t.*$/, "");
        const bad = badPath(unq);
        if (bad) problems.add(bad);
        else if (unq !== "/dev/null" && !line.startsWith("---") && !line.startsWith("+++")) files.add(unq);
      }
    }
    if (!policy.allowBinary && (line === "GIT binary patch" || /^Binary files .* differ$/.test(line))) {
      problems.add("binary change (not allowed by this tree's config)");
    }
    if (!policy.allowSymlinks && sawDiff && /^(new|old)? ?(file )?mode 120000$/.test(line)) {
      problems.add("symlink change (not allowed by this tree's config)");
    }
    if (sawDiff && /^(new file mode|new mode|old mode|deleted file mode) 160000$/.test(line)) {
      problems.add("submodule (gitlink) change");
    }
  }
  if (!sawDiff && !/^--- .*\n\+\+\+ /m.test(text)) problems.add("no diff found in the mail");
  return { files: [...files], problems: [...problems] };
}
