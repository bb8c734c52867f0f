import assert from "node:assert/strict";
import { test } from "node:test";
import { type AttackRow, formatAttackTable, verdictOf } from "./format-attack-table.ts";
import { probeAttack, skippedAttack } from "./probe-attack.ts";

test("the table: aligned columns, a verdict per row, details indented, a count at the end", () => {
  const rows: AttackRow[] = [
    { attack: "bad signature", expected: "400", held: true, detail: "answered 400" },
    { attack: "traversal ../", expected: "refused before apply", held: false, detail: "applied:\n  wrote ../x" },
    skippedAttack("sandbox: root", "not root", "needs root"),
  ];
  assert.equal(
    formatAttackTable(rows),
    [
      "attack        → expected             → verdict",
      "----------------------------------------------",
      "bad signature → 400                  → held",
      "    answered 400",
      "traversal ../ → refused before apply → BROKEN",
      "    applied: wrote ../x",
      "sandbox: root → not root             → SKIPPED",
      "    needs root",
      "----------------------------------------------",
      "3 attacks: 1 held, 1 BROKEN, 1 skipped",
      "",
    ].join("\n"),
  );
  assert.deepEqual(rows.map(verdictOf), ["held", "BROKEN", "SKIPPED"]);
});

test("probeAttack: a passing check holds; a failed assertion is BROKEN with its message", async () => {
  const ok = await probeAttack("a", "e", () => "fine");
  assert.deepEqual(ok, { attack: "a", expected: "e", held: true, detail: "fine" });
  const bad = await probeAttack("a", "e", async () => {
    assert.equal(1, 2, "one is not two");
    return "unreachable";
  });
  assert.equal(bad.held, false);
  assert.match(bad.detail, /one is not two/);
});
