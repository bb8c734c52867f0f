import assert from "node:assert/strict";
import { test } from "node:test";
import { bpfProgramOfPath, candidateBpfPrograms, seriesBpfChanges } from "./candidate-bpf-programs.ts";

const P = "tools/testing/selftests/bpf/progs";

/** A patch body as `git format-patch` writes it, one file diff per entry (extended header lines given). */
const patch = (msg: string, ...files: { a: string; b?: string; header: string[]; hunk?: boolean }[]) =>
  [
    msg,
    "---",
    ` ${files.length} files changed`,
    "",
    ...files.flatMap((f) => [
      `diff --git a/${f.a} b/${f.b ?? f.a}`,
      ...f.header,
      ...(f.hunk === false ? [] : ["--- a/x", "+++ b/x", "@@ -1 +1 @@", "-old", "+new", " new file mode 100644"]),
    ]),
    "-- ",
    "2.43.0",
    "",
  ].join("\n");

test("bpfProgramOfPath: only a .c file directly in the progs folder with a name an arm can give", () => {
  assert.equal(bpfProgramOfPath(`${P}/pb_sockops.c`), "pb_sockops");
  assert.equal(bpfProgramOfPath(`${P}/sub/x.c`), null);
  assert.equal(bpfProgramOfPath(`${P}/x.h`), null);
  assert.equal(bpfProgramOfPath(`${P}/a.b.c`), null);
  assert.equal(bpfProgramOfPath("tools/testing/selftests/bpf/prog_tests/x.c"), null);
  assert.equal(bpfProgramOfPath(`x/${P}/y.c`), null);
});

test("seriesBpfChanges: created, changed, deleted and renamed programs over the patches in order; other files ignored", () => {
  const c = seriesBpfChanges([
    patch(
      "bpf: add pb_new",
      { a: `${P}/pb_new.c`, header: ["new file mode 100644", "index 0000000..1111111"] },
      { a: `${P}/kept.c`, header: ["index 2222222..3333333 100644"] },
      { a: "net/core/sock.c", header: ["index 4444444..5555555 100644"] },
    ),
    patch(
      "selftests: tidy",
      { a: `${P}/gone.c`, header: ["deleted file mode 100644", "index 6666666..0000000"] },
      { a: `${P}/old_name.c`, b: `${P}/pb_moved.c`, header: ["similarity index 100%", `rename from ${P}/old_name.c`, `rename to ${P}/pb_moved.c`], hunk: false },
      { a: `${P}/kept.c`, b: `${P}/pb_copy.c`, header: ["similarity index 90%", `copy from ${P}/kept.c`, `copy to ${P}/pb_copy.c`, "index 2222222..7777777 100644"] },
      { a: `${P}/pb_new.c`, header: ["index 1111111..8888888 100644"] },
    ),
  ]);
  assert.deepEqual(Object.fromEntries(c ?? []), {
    pb_new: { present: true, created: true },
    kept: { present: true, created: false },
    gone: { present: false, created: false },
    old_name: { present: false, created: false },
    pb_moved: { present: true, created: true },
    pb_copy: { present: true, created: true },
  });
});

test("seriesBpfChanges: a patch with no diff to read makes the whole unknown", () => {
  assert.equal(seriesBpfChanges([patch("x", { a: `${P}/a.c`, header: [] }), "Just words, the diff is attached.\n"]), null);
  // A hunk's context line that looks like a header is not one: it starts with a space.
  assert.deepEqual(Object.fromEntries(seriesBpfChanges([patch("x", { a: `${P}/a.c`, header: ["index 1..2 100644"] })]) ?? []), { a: { present: true, created: false } });
});

test("candidateBpfPrograms: the base tree's programs with the series' changes", () => {
  const changes = seriesBpfChanges([
    patch(
      "bpf",
      { a: `${P}/pb_new.c`, header: ["new file mode 100644"] },
      { a: `${P}/gone.c`, header: ["deleted file mode 100644"] },
      { a: `${P}/kept.c`, header: ["index 1..2 100644"] },
    ),
  ])!;
  const k = candidateBpfPrograms([`${P}/kept.c`, `${P}/gone.c`, `${P}/other.c`, `${P}/Makefile`, `${P}/sub`], changes, "0123456789abcdef");
  assert.deepEqual([...k.programs].sort(), ["kept", "other", "pb_new"]);
  assert.deepEqual(k.added, ["pb_new"]);
  assert.deepEqual(k.deleted, ["gone"]);
  assert.equal(k.base, "0123456789abcdef");
});
