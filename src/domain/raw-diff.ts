/** One entry of `git diff --raw -z --no-renames`: the new mode, the status letter and the path. */
export interface RawDiffEntry {
  newMode: string;
  status: string;
  path: string;
}

/** Pure: the entries of `git diff --raw -z --no-renames` output (NUL-separated header and path pairs). */
export function parseRawDiffZ(rawZ: string): RawDiffEntry[] {
  const out: RawDiffEntry[] = [];
  const parts = rawZ.split("\0");
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const m = /^:\d{6} (\d{6}) [0-9a-f]+ [0-9a-f]+ ([A-Z])\d*$/.exec(parts[i]!.trim());
    if (m) out.push({ newMode: m[1]!, status: m[2]!, path: parts[i + 1]! });
  }
  return out;
}
