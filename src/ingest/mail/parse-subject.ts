/**
 * Subject-line grammar of kernel patch mail: `[RFC PATCH bpf-next v2 0/5] title`,
 * patchwork-style `[net,v2,1/2]`, Mercurial `[PATCH 0 of 2]`, `[GIT PULL]`,
 * `[pull request][net-next RESEND 00/17]`, reply/forward prefixes, bot tags.
 */

export type SubjectKind = "patch" | "pull" | "other";

export interface ParsedSubject {
  /** `Re:` / `RE:` / `Aw:` / `Sv:` / `Antw:` (or `Fwd:`) somewhere in the prefix. */
  isReply: boolean;
  /** `Fwd:` / `Fw:` prefix. */
  forwarded: boolean;
  /** Every token of the leading bracket groups, as written (e.g. ["RFC", "PATCH", "bpf-next", "v2", "0/5"]). */
  tags: string[];
  tree: string | null;
  /** 1 when absent. */
  version: number;
  /** True when the subject spelled a version (`v2`, `V2`, `PATCHv2`). */
  explicitVersion: boolean;
  rfc: boolean;
  resend: boolean;
  index: number | null;
  total: number | null;
  kind: SubjectKind;
  /** The subject without reply prefixes and bracket groups. */
  title: string;
}

const REPLY_PREFIX = /^(re|aw|sv|antw|odp|vs|r)(\[\d+\])?\s*:\s*/i;
const FORWARD_PREFIX = /^(fwd?|fw)\s*:\s*/i;
const BRACKET = /^\[([^\]]*)\]\s*:?\s*/;
const INDEX_TOKEN = /^(\d{1,4})\/(\d{1,4})$/;
const VERSION_TOKEN = /^v(\d{1,3})$/i;
const PATCH_TOKEN = /^(patch|rfc)(?:v(\d{1,3}))?$/i;
const TREE_TOKEN = /^-?[a-z0-9][a-z0-9._/+:-]*$/i;
/** Words in bracket groups that are neither trees nor markers we track. */
const IGNORED = new Set(["git", "request", "resend", "patch", "rfc", "pull", "for", "of", "syzbot", "ci", "tip"]);

export function parseSubject(subject: string): ParsedSubject {
  let s = subject.replace(/\s+/g, " ").trim();
  let isReply = false;
  let forwarded = false;
  const groups: string[] = [];
  for (let guard = 0; guard < 32; guard++) {
    const re = REPLY_PREFIX.exec(s);
    if (re) {
      isReply = true;
      s = s.slice(re[0].length);
      continue;
    }
    const fw = FORWARD_PREFIX.exec(s);
    if (fw) {
      forwarded = true;
      isReply = true;
      s = s.slice(fw[0].length);
      continue;
    }
    const br = BRACKET.exec(s);
    if (br) {
      groups.push(br[1] ?? "");
      s = s.slice(br[0].length);
      continue;
    }
    break;
  }

  const tags: string[] = [];
  let tree: string | null = null;
  let version = 1;
  let explicitVersion = false;
  let rfc = false;
  let resend = false;
  let index: number | null = null;
  let total: number | null = null;
  let patchWord = false;
  let pullWord = false;
  let gitWord = false;

  for (const group of groups) {
    const tokens = group.split(/[\s,]+/).filter((t) => t.length > 0);
    // A tree is named only beside a marker (`[PATCH bpf-next]`, `[net,v2,1/2]`), not in a list tag (`[dpdk-dev]`).
    const markerGroup = tokens.some(
      (t) => PATCH_TOKEN.test(t) || VERSION_TOKEN.test(t) || INDEX_TOKEN.test(t) || /^(pull|git|resend|of)$/i.test(t),
    );
    for (let i = 0; i < tokens.length; i++) {
      const tok = tokens[i] ?? "";
      tags.push(tok);
      const lower = tok.toLowerCase();
      const pm = PATCH_TOKEN.exec(tok);
      if (pm) {
        patchWord = true;
        if (lower.startsWith("rfc")) rfc = true;
        if (pm[2] !== undefined) {
          version = Number(pm[2]);
          explicitVersion = true;
        }
        continue;
      }
      if (lower === "resend") {
        resend = true;
        continue;
      }
      if (lower === "pull") {
        pullWord = true;
        continue;
      }
      if (lower === "git") {
        gitWord = true;
        continue;
      }
      const vm = VERSION_TOKEN.exec(tok);
      if (vm) {
        version = Number(vm[1]);
        explicitVersion = true;
        continue;
      }
      const im = INDEX_TOKEN.exec(tok);
      if (im) {
        index = Number(im[1]);
        total = Number(im[2]);
        continue;
      }
      // Mercurial patchbomb: `[PATCH 1 of 2]`.
      const next = tokens[i + 1];
      const after = tokens[i + 2];
      if (/^\d{1,4}$/.test(tok) && next?.toLowerCase() === "of" && after !== undefined && /^\d{1,4}$/.test(after)) {
        index = Number(tok);
        total = Number(after);
        tags.push(next, after);
        i += 2;
        continue;
      }
      if (IGNORED.has(lower)) continue;
      if (markerGroup && tree === null && TREE_TOKEN.test(tok) && !/^\d+$/.test(tok)) tree = tok;
    }
  }

  if (total !== null && (total === 0 || index === null || index > total)) {
    // `[PATCH 3/0]` or `[PATCH 5/3]` is not a usable position.
    index = null;
    total = null;
  }

  let kind: SubjectKind = "other";
  // `[GIT PULL]`, `[pull request]`, and David Miller's `[GIT] Networking`.
  if (pullWord || (gitWord && !patchWord && index === null)) kind = "pull";
  else if (patchWord || index !== null) kind = "patch";
  if (kind === "other") {
    // A bracket group without PATCH/PULL (`[syzbot ci]`, `[tip:timers/core]`) names no tree.
    tree = null;
  }

  return {
    isReply,
    forwarded,
    // Exact length: a pushed-to array keeps room for 17 (held per mail by classification).
    tags: tags.slice(),
    tree,
    version,
    explicitVersion,
    rfc,
    resend,
    index,
    total,
    kind,
    title: s.replace(/^:\s*/, "").trim(),
  };
}

/** Lower-cased, whitespace-collapsed title, for matching versions of one series. */
export function normalizeTitle(title: string): string {
  return title
    .toLowerCase()
    .replace(/\s+/g, " ")
    .replace(/\s*\(v\d+\)\s*$/, "")
    .trim();
}
