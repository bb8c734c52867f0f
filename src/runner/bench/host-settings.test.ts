import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { applySettings, isAllowedSysctl, planSettings, restoreFromJournal, restoreHostEntriesSync, sysctlPath, validateSysctl } from "./host-settings.ts";

function fakeProcSys(values: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "pb-procsys-"));
  for (const [k, v] of Object.entries(values)) {
    const p = sysctlPath(k, root);
    mkdirSync(join(p, ".."), { recursive: true });
    writeFileSync(p, `${v}\n`);
  }
  return root;
}
const read = (root: string, key: string) => readFileSync(sysctlPath(key, root), "utf8").trim();

test("allowlist and value validation", () => {
  assert.ok(isAllowedSysctl("net.core.busy_read"));
  assert.ok(isAllowedSysctl("net.core.busy_poll"));
  assert.ok(isAllowedSysctl("net.ipv4.tcp_rmem"));
  assert.ok(isAllowedSysctl("net.core.rmem_max"));
  assert.ok(isAllowedSysctl("net.core.optmem_max"));
  assert.ok(!isAllowedSysctl("kernel.panic"));
  assert.ok(!isAllowedSysctl("net.ipv4.ip_forward"));
  assert.ok(!isAllowedSysctl("net.core.busy_read/../../kernel/panic"));
  assert.ok(!isAllowedSysctl("net..core"));
  assert.equal(validateSysctl("net.ipv4.tcp_rmem", " 4096\t131072  6291456 "), "4096 131072 6291456");
  assert.throws(() => validateSysctl("kernel.panic", "1"), /sysctl "kernel.panic" is not allowed/);
  assert.throws(() => validateSysctl("net.core.busy_read", "50; reboot"), /must be digits/);
  assert.throws(() => validateSysctl("net.core.busy_read", "-1"), /must be digits/);
  assert.throws(() => validateSysctl("net.ipv4.tcp_congestion_control", "bbr"), /must be digits/);
});

test("planSettings validates and refuses kernel variants", () => {
  assert.deepEqual(planSettings([{ kind: "sysctl", key: "net.core.busy_read", value: "50" }]), [{ key: "net.core.busy_read", value: "50" }]);
  assert.throws(() => planSettings([{ kind: "kernel", ref: "candidate" }]), /kernel variants need a boot/);
  assert.throws(() => planSettings([{ kind: "sysctl", key: "vm.swappiness", value: "1" }]), /not allowed/);
});

test("apply journals originals before writing; restore puts them back and removes the journal", async () => {
  const root = fakeProcSys({ "net.core.busy_read": "0", "net.ipv4.tcp_rmem": "4096\t131072\t33554432" });
  const journalPath = join(root, "journal.json");
  try {
    await applySettings(
      [
        { key: "net.core.busy_read", value: "50" },
        { key: "net.ipv4.tcp_rmem", value: "4096 65536 1048576" },
      ],
      { journalPath },
      { procSys: root },
    );
    assert.equal(read(root, "net.core.busy_read"), "50");
    const j = JSON.parse(readFileSync(journalPath, "utf8"));
    assert.equal(j.ownerPid, process.pid);
    assert.deepEqual(
      j.entries.map((e: { key: string; original: string }) => [e.key, e.original]),
      [
        ["net.core.busy_read", "0"],
        ["net.ipv4.tcp_rmem", "4096 131072 33554432"],
      ],
    );
    // A second apply keeps the first original (the real baseline).
    await applySettings([{ key: "net.core.busy_read", value: "70" }], { journalPath }, { procSys: root });
    const r = await restoreFromJournal(journalPath, { procSys: root });
    assert.equal(r.restored.length, 2);
    assert.deepEqual(r.problems, []);
    assert.equal(read(root, "net.core.busy_read"), "0");
    assert.equal(read(root, "net.ipv4.tcp_rmem"), "4096 131072 33554432");
    assert.equal(existsSync(journalPath), false);
    assert.deepEqual(await restoreFromJournal(journalPath, { procSys: root }), { restored: [], skipped: [], problems: [] });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a crashed owner's journal is restored; a live other owner's is refused", async () => {
  const root = fakeProcSys({ "net.core.busy_poll": "25" });
  const journalPath = join(root, "journal.json");
  try {
    const entry = { key: "net.core.busy_poll", netns: null, original: "0", applied: "25", at: "2025-01-01T00:00:00Z" };
    writeFileSync(journalPath, JSON.stringify({ version: 1, ownerPid: 1, entries: [entry] }));
    await assert.rejects(restoreFromJournal(journalPath, { procSys: root }), /belongs to live process 1/);
    await assert.rejects(applySettings([{ key: "net.core.busy_poll", value: "1" }], { journalPath }, { procSys: root }), /live process 1/);
    // 2^22 + 1 is above the kernel's pid_max limit: never a live process.
    writeFileSync(journalPath, JSON.stringify({ version: 1, ownerPid: 4194305, entries: [entry] }));
    const r = await restoreFromJournal(journalPath, { procSys: root });
    assert.equal(r.restored.length, 1);
    assert.equal(read(root, "net.core.busy_poll"), "0");
    assert.equal(existsSync(journalPath), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a corrupt journal is an error, not silently dropped", async () => {
  const root = fakeProcSys({});
  const journalPath = join(root, "journal.json");
  try {
    writeFileSync(journalPath, "{ half");
    await assert.rejects(restoreFromJournal(journalPath, { procSys: root }), /not JSON/);
    assert.ok(existsSync(journalPath));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("at exit, this process's own host entries go back synchronously; another owner's journal and namespace entries stay", async () => {
  const root = fakeProcSys({ "net.core.busy_read": "0", "net.core.busy_poll": "0" });
  const journalPath = join(root, "journal.json");
  try {
    await applySettings([{ key: "net.core.busy_read", value: "50" }, { key: "net.core.busy_poll", value: "50" }], { journalPath }, { procSys: root });
    const j = JSON.parse(readFileSync(journalPath, "utf8"));
    j.entries.push({ key: "net.core.busy_read", netns: "pb-server", original: "0", applied: "50", at: "2026-01-01T00:00:00Z" });
    writeFileSync(journalPath, JSON.stringify(j));
    const restored = restoreHostEntriesSync(journalPath, { procSys: root });
    assert.deepEqual(restored.map((e) => e.key).sort(), ["net.core.busy_poll", "net.core.busy_read"]);
    assert.equal(read(root, "net.core.busy_read"), "0");
    assert.equal(read(root, "net.core.busy_poll"), "0");
    const left = JSON.parse(readFileSync(journalPath, "utf8")).entries;
    assert.deepEqual(left.map((e: { netns: string | null }) => e.netns), ["pb-server"]);
    // A journal owned by another process is not ours to restore at our exit.
    writeFileSync(journalPath, JSON.stringify({ ...j, ownerPid: 1, entries: [{ key: "net.core.busy_read", netns: null, original: "7", applied: "50", at: "x" }] }));
    assert.deepEqual(restoreHostEntriesSync(journalPath, { procSys: root }), []);
    assert.equal(read(root, "net.core.busy_read"), "0");
    writeFileSync(journalPath, "{ half");
    assert.deepEqual(restoreHostEntriesSync(journalPath, { procSys: root }), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
