import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bootSchema } from "../../src/config/schema.ts";
import { BUSYBOX } from "../../src/runner/boot/make-initramfs.ts";
import { createQemuTarget } from "../../src/runner/boot/qemu-target.ts";
import { bootGuest } from "../../src/runner/guest/boot-guest.ts";
import type { AttackRow } from "./format-attack-table.ts";
import { type HostileHost, sandboxUnavailable, withHostileHost } from "./hostile-host.ts";
import { hostileProbeScript, readProbeLines } from "./hostile-probe.ts";
import { probeAttack } from "./probe-attack.ts";
import { commonProbeRows, skippedRows } from "./probe-verdicts.ts";

const GUEST = "QEMU of a kernel A/B guest (a guest escape)";
const PROBE_BOOT = "QEMU of the build stage's probe boot (a guest escape)";
const writesRow = (who: string): [string, string] => [`${who} writes outside its own folder`, "refused or into its own tmpfs; host and kernel image unchanged"];

/**
 * QEMU runs the series' kernel; a guest that escapes QEMU gets QEMU's
 * privileges. So the hostile probe stands in for the QEMU binary
 * (`boot.qemu.binary`) and is started exactly as each boot path starts
 * QEMU: bootGuest (kernel A/B, bench and kselftests guests) and the qemu
 * boot target (the build stage's probe boot), each with the runner's
 * sandbox. It reports on its stdout, which those paths keep in the job's
 * artifacts (qemu log, console).
 */
export async function runQemuAttacks(): Promise<AttackRow[]> {
  const why = sandboxUnavailable();
  if (why) return [...skippedRows(GUEST, writesRow(GUEST), why), ...skippedRows(PROBE_BOOT, writesRow(PROBE_BOOT), why)];
  // Outside /tmp and the data dir (both hidden in the sandbox), readable by the sandbox user.
  const bin = mkdtempSync("/var/lib/pb-sec-qemu-");
  chmodSync(bin, 0o755);
  try {
    return await withHostileHost(async (h) => {
      const artifactsDir = join(h.config.paths.workDir, "artifacts", "flow-sec-qemu");
      mkdirSync(artifactsDir, { recursive: true });
      const image = join(artifactsDir, "bzImage-candidate");
      writeFileSync(image, "the series' kernel image\n");
      const probe = (name: string) => {
        const p = join(bin, name);
        writeFileSync(p, hostileProbeScript(h.targets([image, "bzImage"]), "lines"), { mode: 0o755 });
        return p;
      };
      const qemu = (binary: string) => bootSchema.parse({ target: "qemu", qemu: { binary, kvm: "off" } }).qemu;

      const guest = await bootGuest({ label: "candidate", kernel: image, qemu: qemu(probe("guest")), timeoutMs: 10_000, artifactsDir, sandbox: h.sandbox });
      assert.equal(guest.ok, false, "the stand-in QEMU has no agent");
      const guestSeen = readProbeLines(readFileSync(join(artifactsDir, "qemu-candidate.log"), "utf8"));
      const rows = await contextRows(h, GUEST, guestSeen, image, guest.ok ? "booted?" : guest.reason);

      if (!existsSync(BUSYBOX)) return [...rows, ...skippedRows(PROBE_BOOT, writesRow(PROBE_BOOT), `${BUSYBOX} is missing (busybox-static: scripts/prepare-kernel-tree.sh)`)];
      const target = createQemuTarget(qemu(probe("probe-boot")), { sandbox: h.sandbox });
      const run = await target.run({ kernel: { label: "candidate", image }, probe: BUSYBOX, timeoutMs: 20_000, artifactsDir });
      const bootSeen = readProbeLines(readFileSync(join(artifactsDir, "console-candidate.log"), "utf8"));
      return [...rows, ...(await contextRows(h, PROBE_BOOT, bootSeen, image, `${run.outcome}: ${run.reason}`))];
    });
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
}

async function contextRows(h: HostileHost, who: string, seen: Map<string, string[]>, image: string, outcome: string): Promise<AttackRow[]> {
  const [first, ...rest] = await commonProbeRows(who, seen, h, outcome);
  const [attack, expected] = writesRow(who);
  const writes = await probeAttack(attack, expected, () => {
    assert.ok(seen.has("UID"), "the probe did not run");
    for (const p of [join(h.dataDir, "pwned"), h.hostFile, "/etc/pb-sec-pwned"]) assert.equal(existsSync(p), false, `${p} on the host`);
    assert.equal(readFileSync(image, "utf8"), "the series' kernel image\n", "the kernel image in the artifacts changed");
    const denied = seen.get("DENIED_WRITE") ?? [];
    assert.ok(denied.some((m) => m.startsWith("/etc/pb-sec-pwned: ")), "a write to /etc was not refused");
    const short = (m: string) => m.replace(h.config.paths.workDir, "<work>").replace(h.dir, "…");
    return `refused: ${denied.map(short).join("; ")}; written (its own folder or tmpfs): ${(seen.get("WROTE") ?? []).map(short).join(", ") || "none"}; host unchanged`;
  });
  return [first!, writes, ...rest];
}
