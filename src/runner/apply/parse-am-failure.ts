/**
 * Pure: pull the files and hunks git named out of a failed `git am` run.
 * Lines look like "error: patch failed: include/trace/events/tcp.h:218",
 * "error: net/x.c: does not exist in index", "error: net/x.c: patch does not apply".
 */
export function parseAmFailure(output: string): { files: string[]; hunks: string[]; message: string } {
  const files = new Set<string>();
  const hunks: string[] = [];
  const keep: string[] = [];
  for (const line of output.split("\n")) {
    const l = line.trimEnd();
    let m = /^error: patch failed: (.+):(\d+)$/.exec(l);
    if (m?.[1]) {
      files.add(m[1]);
      hunks.push(`${m[1]}:${m[2]}`);
    }
    m = /^error: (.+?): (does not exist in index|patch does not apply|already exists in (?:index|working directory))$/.exec(l);
    if (m?.[1]) files.add(m[1]);
    m = /^CONFLICT \([^)]*\): Merge conflict in (.+)$/.exec(l);
    if (m?.[1]) files.add(m[1]);
    if (/^(error|fatal|Patch failed|Applying|Using index info|Falling back|CONFLICT|Repository lacks|could not build)/.test(l)) {
      keep.push(l);
    }
  }
  return { files: [...files], hunks, message: keep.join("\n").slice(0, 4000) };
}
