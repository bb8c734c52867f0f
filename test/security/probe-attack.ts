import type { AttackRow } from "./format-attack-table.ts";

/**
 * Try one attack: `check` runs it through the real entry point and asserts
 * the defence (node:assert); it returns what it saw. A failed assertion or
 * any other error is a BROKEN row carrying the message, so one broken
 * defence does not hide the rest of the table.
 */
export async function probeAttack(attack: string, expected: string, check: () => Promise<string> | string): Promise<AttackRow> {
  try {
    const detail = await check();
    return { attack, expected, held: true, detail };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return { attack, expected, held: false, detail: msg.split("\n").slice(0, 4).join(" ") };
  }
}

/** A row for an attack that cannot be tried on this machine. */
export function skippedAttack(attack: string, expected: string, reason: string): AttackRow {
  return { attack, expected, held: false, detail: "", skipped: reason };
}
