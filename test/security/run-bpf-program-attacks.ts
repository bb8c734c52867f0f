import assert from "node:assert/strict";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SERIES_BPF_PROGS_DIR } from "../../src/domain/series-bpf-program.ts";
import { buildSeriesBpfObjects } from "../../src/runner/build/build-series-bpf.ts";
import type { AttackRow } from "./format-attack-table.ts";
import { sandboxUnavailable, withHostileHost } from "./hostile-host.ts";
import { probeAttack, skippedAttack } from "./probe-attack.ts";

const WHO = "a series' BPF program (clang for an arm)";
const READS: [string, string] = [`${WHO} includes the store, the environment and host files`, "hidden in the sandbox (not found or denied); no secret in any object or message"];
const LINKS: [string, string] = [`${WHO} is a symlink to a host file`, "not a program of the tree; nothing compiled or copied"];

/**
 * The build stage's BPF programs from the series: the source is the series' own,
 * so clang runs in the runner's sandbox. A program can only read at compile time
 * (#include); it must see nothing of the runner, and a symlink is not a program.
 */
export async function runBpfProgramAttacks(): Promise<AttackRow[]> {
  const why = sandboxUnavailable();
  if (why) return [skippedAttack(...READS, why), skippedAttack(...LINKS, why)];
  return withHostileHost(async (h) => {
    const tree = join(h.config.paths.workDir, "worktrees", "bpf-attack");
    const progs = join(tree, SERIES_BPF_PROGS_DIR);
    mkdirSync(progs, { recursive: true });
    const include = (path: string) => `#include "${path}"\n`;
    writeFileSync(join(progs, "pb_store.c"), include(h.storePath));
    writeFileSync(join(progs, "pb_environ.c"), include("/proc/1/environ"));
    writeFileSync(join(progs, "pb_redis.c"), include(h.redisSocket));
    writeFileSync(h.hostFile, `#error ${h.secrets[0]}\n`);
    writeFileSync(join(progs, "pb_hostfile.c"), include(h.hostFile));
    symlinkSync(h.hostFile, join(progs, "pb_link.c"));
    await h.sandbox.prepareWritable([tree]);
    const artifactsDir = join(h.config.paths.workDir, "artifacts", "flow-sec-bpf");
    const names = ["pb_store", "pb_environ", "pb_redis", "pb_hostfile", "pb_link"];
    const out = await buildSeriesBpfObjects({ treeDir: tree, names, artifactsDir, sandbox: h.sandbox, btf: { vmlinux: true } });
    const by = Object.fromEntries(out.map((o) => [o.name, o]));
    return [
      await probeAttack(...READS, () => {
        for (const n of ["pb_store", "pb_redis", "pb_hostfile"]) {
          const o = by[n]!;
          assert.equal(o.object, null, `${n}: no object`);
          assert.match(o.problem ?? "", /clang could not build it: .*(file not found|No such file|Permission denied)/, `${n}: ${o.problem}`);
        }
        // /proc/1 in the sandbox is the sandbox's own first process, with the allow-listed environment.
        for (const o of out.slice(0, 4)) {
          const text = `${o.problem ?? ""}${o.object ? readFileSync(o.object, "latin1") : ""}`;
          for (const s of h.secrets) assert.ok(!text.includes(s), `${o.name}: a secret in its object or problem`);
        }
        return out
          .slice(0, 4)
          .map((o) => `${o.name}: ${/(file not found|Permission denied)/.exec(o.problem ?? "")?.[1] ?? (o.object ? "built, no secret in it" : o.problem)}`)
          .join("; ");
      }),
      await probeAttack(...LINKS, () => {
        assert.equal(by.pb_link!.problem, "not in the candidate tree (as a regular file)");
        assert.equal(by.pb_link!.object, null);
        assert.equal(readFileSync(h.hostFile, "utf8"), `#error ${h.secrets[0]}\n`, "the host file unchanged");
        return "refused before clang";
      }),
    ];
  });
}
