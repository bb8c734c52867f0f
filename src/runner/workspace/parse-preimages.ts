/**
 * Pure: the blobs a series expects to find before it applies, from the
 * `index <old>..<new>` lines of its diffs (what b4 --guess-base and syzbot
 * use). A path's preimage is its first appearance in the series: later
 * patches start from what earlier ones produced. A created file expects
 * nothing (`blob: null`).
 */
export interface Preimage {
  path: string;
  /** Abbreviated (or full) blob id; null when the file must not exist yet. */
  blob: string | null;
}

const ZERO = /^0+$/;

export function parsePreimages(patchTexts: readonly string[]): Preimage[] {
  const seen = new Map<string, Preimage>();
  for (const text of patchTexts) {
    let path: string | null = null;
    for (const raw of text.split("\n")) {
      const line = raw.replace(/\r$/, "");
      const d = /^diff --git a\/(\S+) b\/(\S+)$/.exec(line);
      if (d?.[1]) {
        path = d[1];
        continue;
      }
      const m = /^index ([0-9a-f]{4,64})\.\.([0-9a-f]{4,64})(?: [0-7]{6})?$/.exec(line);
      if (m?.[1] && path !== null) {
        if (!seen.has(path)) seen.set(path, { path, blob: ZERO.test(m[1]) ? null : m[1] });
        path = null;
      }
    }
  }
  return [...seen.values()];
}
