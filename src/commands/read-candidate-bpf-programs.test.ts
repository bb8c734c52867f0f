import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { onePatchSeries } from "../../test/helpers/one-patch-series.ts";
import { bpfProgramOfPath } from "../domain/candidate-bpf-programs.ts";
import { SERIES_BPF_PROGS_DIR } from "../domain/series-bpf-program.ts";
import { git } from "../lib/git.ts";
import { openStore } from "../store/open-store.ts";
import { saveSeries } from "../store/series-repository.ts";
import { readCandidateBpfPrograms, seriesPatchMails } from "./read-candidate-bpf-programs.ts";

/**
 * A scratch tree (not the kernel): a base commit with a few selftest programs, a two-patch
 * series on it made into real `git format-patch` mails, and a bare mirror holding the base.
 */
const dir = mkdtempSync(join(tmpdir(), "pb-candidate-bpf-"));
const work = join(dir, "work");
const progs = join(work, SERIES_BPF_PROGS_DIR);
let base = "";
let head = "";
let mails: Uint8Array[] = [];
const mirror = join(dir, "mirror.git");

before(async () => {
  await git(["init", "--quiet", "-b", "main", work]);
  mkdirSync(join(progs, "sub"), { recursive: true });
  for (const f of ["kept.c", "gone.c", "old_name.c", "sub/nested.c", "Makefile"]) writeFileSync(join(progs, f), `/* ${f} */\nint x;\n`);
  writeFileSync(join(work, "sock.c"), "int sock;\n");
  await git(["add", "-A"], { repo: work });
  await git(["commit", "--quiet", "-m", "base"], { repo: work });
  base = (await git(["rev-parse", "HEAD"], { repo: work })).stdout.trim();
  await git(["clone", "--quiet", "--bare", work, mirror]);
  // The series: a new program and a changed one, then a deleted and a renamed one, and a core change.
  writeFileSync(join(progs, "pb_sockops_busy_poll.c"), "int busy;\n");
  writeFileSync(join(progs, "kept.c"), "/* kept.c */\nint x;\nint y;\n");
  await git(["add", "-A"], { repo: work });
  await git(["commit", "--quiet", "-m", "selftests/bpf: add pb_sockops_busy_poll"], { repo: work });
  rmSync(join(progs, "gone.c"));
  renameSync(join(progs, "old_name.c"), join(progs, "pb_renamed.c"));
  writeFileSync(join(work, "sock.c"), "int sock;\nint busy;\n");
  await git(["add", "-A"], { repo: work });
  await git(["commit", "--quiet", "-m", "net: busy poll from sockops"], { repo: work });
  head = (await git(["rev-parse", "HEAD"], { repo: work })).stdout.trim();
  const out = join(dir, "patches");
  await git(["format-patch", "--quiet", "-o", out, `${base}..${head}`], { repo: work });
  mails = readdirSync(out).sort().map((f) => new Uint8Array(readFileSync(join(out, f))));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("the candidate tree's programs from the mirror's base commit and the series' patch mails: what applying the series gives", async () => {
  const k = await readCandidateBpfPrograms(git, { repos: [join(dir, "no-such.git"), mirror], baseCommit: base.slice(0, 12), patches: mails });
  assert.ok(k);
  // The truth: the programs of the series' own head commit.
  const ls = await git(["ls-tree", "--name-only", head, "--", `${SERIES_BPF_PROGS_DIR}/`], { repo: work });
  const truth = ls.stdout.split("\n").map(bpfProgramOfPath).filter((n) => n !== null).sort();
  assert.deepEqual(truth, ["kept", "pb_renamed", "pb_sockops_busy_poll"]);
  assert.deepEqual([...k.programs].sort(), truth);
  assert.deepEqual(k.added, ["pb_sockops_busy_poll", "pb_renamed"]);
  assert.deepEqual(k.deleted, ["gone", "old_name"]);
  assert.equal(k.base, base, "the full commit the base tree was read from");
  assert.match(Buffer.from(mails[1]!).toString("utf8"), /^rename from /m, "git's own rename header was read");
});

/** The same mail sent quoted-printable, as some mailers do: its long `diff --git` lines broken with soft line breaks. */
function quotedPrintable(raw: Uint8Array): Uint8Array {
  const text = Buffer.from(raw).toString("utf8");
  const cut = text.indexOf("\n\n");
  const head = text.slice(0, cut).split("\n").filter((l) => !/^(MIME-Version|Content-Type|Content-Transfer-Encoding):/i.test(l));
  const body = text
    .slice(cut + 2)
    .replace(/=/g, "=3D")
    .split("\n")
    .map((l) => l.match(/.{1,60}/g)?.join("=\n") ?? l)
    .join("\n");
  const mime = ["MIME-Version: 1.0", "Content-Type: text/plain; charset=UTF-8", "Content-Transfer-Encoding: quoted-printable"];
  return new Uint8Array(Buffer.from(`${[...head, ...mime].join("\n")}\n\n${body}`));
}

test("patch mails are read decoded, as git am reads them: a quoted-printable mail gives the same programs", async () => {
  const qp = mails.map(quotedPrintable);
  assert.doesNotMatch(Buffer.from(qp[0]!).toString("utf8"), /^diff --git a\/tools\/testing\/selftests\/bpf\/progs\/pb_sockops_busy_poll\.c /m);
  const k = await readCandidateBpfPrograms(git, { repos: [mirror], baseCommit: base, patches: qp });
  assert.deepEqual([...(k?.programs ?? [])].sort(), ["kept", "pb_renamed", "pb_sockops_busy_poll"]);
});

test("unknown, never guessed: no base said, a base no repository holds, a name that is no commit, patches not at hand", async () => {
  assert.equal(await readCandidateBpfPrograms(git, { repos: [mirror], baseCommit: null, patches: mails }), null);
  assert.equal(await readCandidateBpfPrograms(git, { repos: [mirror], baseCommit: "0123456789abcdef0123456789abcdef01234567", patches: mails }), null);
  assert.equal(await readCandidateBpfPrograms(git, { repos: [mirror], baseCommit: "--output=/tmp/x", patches: mails }), null);
  assert.equal(await readCandidateBpfPrograms(git, { repos: [mirror], baseCommit: base, patches: null }), null);
  assert.equal(await readCandidateBpfPrograms(git, { repos: [join(dir, "no-such.git")], baseCommit: base, patches: mails }), null);
});

test("seriesPatchMails: in patch order from the mails at hand and the store; null when one is missing or the series is not all patches", async () => {
  const storeDir = mkdtempSync(join(tmpdir(), "pb-candidate-bpf-store-"));
  const db = await openStore(join(storeDir, "s.sqlite"));
  try {
    const series = onePatchSeries({
      id: "s-bpf",
      title: "busy poll",
      total: 2,
      patches: [
        { index: 1, messageId: "p1@x", subject: "1", author: "A <a@x>" },
        { index: 2, messageId: "p2@x", subject: "2", author: "A <a@x>" },
      ],
    });
    await saveSeries(db, series, new Map([["p1@x", mails[0]!]]));
    const got = await seriesPatchMails(db, series, new Map([["p2@x", mails[1]!]]));
    assert.deepEqual(got?.map((m) => Buffer.from(m).toString("latin1")), [mails[0], mails[1]].map((m) => Buffer.from(m!).toString("latin1")));
    assert.equal(await seriesPatchMails(db, series), null, "p2 is neither at hand nor stored");
    assert.equal(await seriesPatchMails(db, { ...series, kind: "pull" }, new Map([["p2@x", mails[1]!]])), null);
    assert.equal(await seriesPatchMails(db, { ...series, complete: false }, new Map([["p2@x", mails[1]!]])), null);
  } finally {
    await db.destroy();
    rmSync(storeDir, { recursive: true, force: true });
  }
});
