import assert from "node:assert/strict";
import type { SandboxIdentity } from "../../src/lib/sandbox.ts";
import type { AttackRow } from "./format-attack-table.ts";
import { probeAttack, skippedAttack } from "./probe-attack.ts";

/** What the host knows while a hostile probe ran (see hostile-probe.ts). */
export interface ProbeHost {
  /** Secret values put into the runner's environment. */
  secrets: readonly string[];
  storePath: string;
  port: number;
  /** Connections the host's listener received. */
  connections: () => number;
  /** Entries the data dir may show inside: bwrap's mount points for the hidden paths. */
  mountPoints: readonly string[];
  sandboxUser: SandboxIdentity;
}

/** The attacks every context is tried with, besides its own writes row. */
export const COMMON_ATTACKS = (who: string): [string, string][] => [
  [`${who} reads secrets (env, /proc/1/environ)`, "no PATCHBENCH_SMTP_PASSWORD / _GITHUB_WEBHOOK_SECRET"],
  [`${who} reaches the network`, "no connection (own net namespace)"],
  [`${who} sees data dir / store / Redis socket`, "empty tmpfs: nothing to read or connect to"],
  [`${who} runs as root`, "runs as the sandbox user"],
];

/** Skipped rows for a context that cannot run here. */
export function skippedRows(who: string, writes: [string, string], why: string): AttackRow[] {
  return [...COMMON_ATTACKS(who), writes].map(([a, e]) => skippedAttack(a, e, why));
}

/**
 * The common rows from the probe's findings. `ran` asserts that the probe really ran where it
 * should (its UID line), so a probe that never started is BROKEN, not "held".
 */
export async function commonProbeRows(who: string, seen: Map<string, string[]>, host: ProbeHost, where: string): Promise<AttackRow[]> {
  const [secrets, net, state, root] = COMMON_ATTACKS(who);
  const all = JSON.stringify([...seen]);
  const ran = () => assert.ok(seen.has("UID"), `the probe did not run (${where}): ${all.slice(0, 300)}`);
  return [
    await probeAttack(secrets![0], secrets![1], () => {
      ran();
      for (const s of host.secrets) assert.equal(all.includes(s), false, "a secret value reached the probe");
      const keys = (seen.get("ENV") ?? []).map((m) => m.slice(0, m.indexOf("=")));
      assert.deepEqual(keys.filter((k) => k.startsWith("PATCHBENCH") || k === "REDIS_URL"), []);
      const environ = (seen.get("READ") ?? []).find((m) => m.startsWith("/proc/1/environ"));
      // Its pid 1 is bwrap: readable only when bwrap runs as the sandbox user, and then holds PATH only.
      if (environ !== undefined) assert.match(environ, /^\/proc\/1\/environ: PATH=[^ ]*\s*$/);
      return `env keys: ${keys.join(" ")}; /proc/1/environ ${environ === undefined ? "unreadable" : "holds PATH only"}`;
    }),
    await probeAttack(net![0], net![1], () => {
      ran();
      assert.equal(seen.has("CONNECTED"), false);
      assert.equal(host.connections(), 0, "the host's listener got a connection");
      return `127.0.0.1:${host.port} listening on the host: ${(seen.get("DENIED_NET") ?? []).join(" ") || "refused"}; 0 connections`;
    }),
    await probeAttack(state![0], state![1], () => {
      ran();
      assert.equal(seen.has("REDIS"), false, `Redis answered: ${seen.get("REDIS")}`);
      assert.ok(seen.has("DENIED_REDIS"), "no attempt on the socket was reported");
      const store = (seen.get("READ") ?? []).find((m) => m.startsWith(host.storePath));
      assert.ok(store !== undefined || (seen.get("DENIED_READ") ?? []).some((m) => m.startsWith(host.storePath)), "the store was not tried");
      assert.equal(/SQLite format/.test(store ?? ""), false, "the store's bytes were readable");
      const ls = ((seen.get("LS_DATA") ?? [""])[0] ?? "").split(",").filter(Boolean);
      assert.deepEqual(
        ls.filter((e) => !host.mountPoints.includes(e)),
        [],
        `data dir shows ${ls.join(",")}`,
      );
      return `data dir shows only mount points (${ls.join(", ") || "none"}); store reads ${store === undefined ? "denied" : "empty (/dev/null)"}; redis.sock: ${seen.get("DENIED_REDIS")}`;
    }),
    await probeAttack(root![0], root![1], () => {
      ran();
      const uid = (seen.get("UID") ?? [""])[0]!;
      assert.notEqual(host.sandboxUser.uid, 0);
      assert.equal(uid, `${host.sandboxUser.uid} ${host.sandboxUser.uid}`, "real and effective uid");
      return `uid ${uid.split(" ")[0]} (${host.sandboxUser.name}${host.sandboxUser.source === "user" ? "" : ", the dedicated user is missing"})`;
    }),
  ];
}
