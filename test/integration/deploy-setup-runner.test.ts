import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { POOL_NAME } from "../../src/queue/queue-names.ts";
import { PROJECT_ROOT } from "../helpers/fixtures.ts";
import { createSshNetns, SSHD, type SshNetns } from "../helpers/sshd-netns.ts";

/**
 * deploy/setup-runner.sh: its --dry-run steps, and real runs into a scratch root (units, config,
 * keys, pins; units enabled offline with systemctl --root), twice, with an sshd in a network
 * namespace as the ssh target whose host key is pinned. Packages are not installed here
 * (--skip-packages): this machine is shared.
 */
const SCRIPT = join(PROJECT_ROOT, "deploy", "setup-runner.sh");
const run = (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const t0 = Date.now();
  const r = spawnSync("bash", [SCRIPT, ...args], { encoding: "utf8", env: { ...process.env, PATCHBENCH_LOG_LEVEL: "warn", ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
};
const steps = (out: string) => [...out.matchAll(/^setup-runner: \[\d+\] (.*)$/gm)].map((m) => m[1]!.replace(/ under .*| in \/.*| \/.*$/, ""));
/** Every path under root with its mode and content hash (or link target): equal trees, equal snapshots. */
const snapshot = (root: string): string[] => {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      const st = lstatSync(p);
      const what = st.isSymbolicLink() ? `-> ${readlinkSync(p)}` : st.isDirectory() ? "dir" : createHash("sha256").update(readFileSync(p)).digest("hex").slice(0, 16);
      out.push(`${(st.mode & 0o7777).toString(8)} ${p.slice(root.length)} ${what}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
};
const fingerprint = (pub: string) => execFileSync("ssh-keygen", ["-lf", pub], { encoding: "utf8" }).split(" ")[1]!;

describe("deploy/setup-runner.sh", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "pb-deploy-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("--dry-run prints every step and changes nothing, here (root /, no systemd running) or in a scratch root", () => {
    const fp = `SHA256:${"a".repeat(43)}`;
    const scratch = join(dir, "dry");
    const r = run(["--dry-run", "--root", scratch, "--target", "192.0.2.7", "--target-fingerprint", fp, "--peer", "192.0.2.8:2222", "--peer-fingerprint", fp]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(steps(r.stdout), [
      "Node.js (package.json engines)",
      "Debian packages and npm dependencies (scripts/ensure-deps.sh)",
      "sandbox user patchbench-sandbox",
      "directories",
      "configuration",
      "ssh key",
      "pin the ssh target's host key (192.0.2.7, SHA256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa)",
      "pin the bench peer's host key ([192.0.2.8]:2222, SHA256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa)",
      "systemd units",
      "enable patchbench-runner@bare-metal and patchbench-target-restore",
      "patchbench runner doctor",
    ]);
    assert.match(r.stdout, /would run: env PATCHBENCH_SETUP_EXTRA=.*libelf-dev.* bash \S+\/scripts\/ensure-deps\.sh/);
    assert.match(r.stdout, /would run: systemctl --root=\S+dry --quiet enable patchbench-runner@bare-metal\.service patchbench-target-restore\.service/);
    assert.match(r.stdout, /would run: node \S+\/bin\/patchbench\.js --config \S+dry\/etc\/patchbench --data-dir \S+dry\/var\/lib\/patchbench runner doctor/);
    assert.equal(existsSync(scratch), false, "nothing written");

    const etcBefore = existsSync("/etc/patchbench");
    const here = run(["--dry-run", "--pool", "lab"]);
    assert.equal(here.code, 0, here.stderr);
    assert.match(here.stdout, /would write \/etc\/systemd\/system\/patchbench-runner@\.service|\/etc\/systemd\/system\/patchbench-runner@\.service: unchanged/);
    if (!existsSync("/run/systemd/system")) assert.match(here.stdout, /skipped: systemd is not running on this machine; when it is, run: systemctl enable patchbench-runner@lab\.service/);
    assert.equal(existsSync("/etc/patchbench"), etcBefore);
  });

  test("bad input: usage errors name the flag; a target without its fingerprint is refused (no trust on first use)", () => {
    const noFp = run(["--dry-run", "--target", "192.0.2.7"]);
    assert.equal(noFp.code, 2);
    assert.match(noFp.stderr, /--target and --target-fingerprint go together: a host key is never trusted on first contact/);
    assert.match(run(["--dry-run", "--peer", "192.0.2.7", "--peer-fingerprint", "MD5:aa"]).stderr, /--peer-fingerprint: expected SHA256:/);
    assert.match(run(["--dry-run", "--target", "x;reboot", "--target-fingerprint", `SHA256:${"a".repeat(43)}`]).stderr, /--target: not a host name or address/);
    const unknown = run(["--frobnicate"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^Usage: deploy\/setup-runner\.sh/);
    assert.match(unknown.stderr, /unknown argument: --frobnicate/);
    assert.match(run(["--help"]).stdout, /--dry-run +print each step, change nothing/);
  });

  test("--pool takes exactly the names patchbench takes; --app-dir with characters sed or a unit would misread is refused; the key is to be authorized for --target-user", () => {
    for (const pool of ["lab", "lab_2-X", "lab.1", "a b", "-x", "lab/1", "läb"]) {
      const r = run(["--dry-run", "--root", join(dir, "pools"), "--skip-packages", "--no-doctor", "--pool", pool]);
      assert.equal(r.code === 0, POOL_NAME.test(pool), `--pool ${pool}: exit ${r.code} ${r.stderr}`);
      if (!POOL_NAME.test(pool)) assert.match(r.stderr, /--pool: not a pool name \(letters, digits, _ and -\)/);
    }
    for (const appDir of ["/opt/a#b", "/opt/a&b", "/opt/a b", "/opt/50%", "/opt/a\\b", "/opt/$HOME"]) {
      const r = run(["--dry-run", "--app-dir", appDir]);
      assert.equal(r.code, 2, `--app-dir ${appDir}: ${r.stdout}`);
      assert.match(r.stderr, /--app-dir: only letters, digits and/);
    }
    const root = join(dir, "user");
    const r = run(["--root", root, "--skip-packages", "--no-doctor", "--target-user", "bench", "--app-dir", "/srv/patch-bench_2.0", "--pool", "lab_2"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /append \S+\/etc\/patchbench\/ssh\/id_ed25519\.pub to ~bench\/\.ssh\/authorized_keys there/);
    const unit = readFileSync(join(root, "etc/systemd/system/patchbench-runner@.service"), "utf8");
    assert.match(unit, /^ExecStart=\/usr\/bin\/node \/srv\/patch-bench_2\.0\/bin\/patchbench\.js runner --pool %i$/m);
    assert.match(unit, /^WorkingDirectory=\/srv\/patch-bench_2\.0$/m);
  });

  test("without systemctl the enable step is skipped with what to run", () => {
    // A PATH holding every command of this machine but systemctl.
    const bin = join(dir, "bin-no-systemctl");
    mkdirSync(bin);
    for (const d of ["/usr/local/bin", "/usr/bin", "/usr/sbin"]) {
      if (!existsSync(d)) continue;
      for (const e of readdirSync(d)) if (e !== "systemctl" && !existsSync(join(bin, e))) symlinkSync(join(d, e), join(bin, e));
    }
    const r = run(["--root", join(dir, "nosd"), "--skip-packages", "--no-doctor"], { PATH: bin });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /skipped: systemctl is not available here; on the runner box run: systemctl enable patchbench-runner@bare-metal\.service/);
    assert.equal(existsSync(join(dir, "nosd", "etc", "systemd", "system", "multi-user.target.wants")), false);
  });

  const skip = !existsSync(SSHD) ? "openssh-server not installed" : process.getuid?.() !== 0 ? "needs root (network namespaces)" : false;
  describe("real runs into a scratch root, with an sshd in a netns as the ssh target", { skip }, () => {
    let box: SshNetns;
    let port = 0;
    before(async () => {
      box = createSshNetns({ ns: `pb-dep-${process.pid}`, veth: `pbe${process.pid % 100000}`, hostAddr: "203.0.113.237", peerAddr: "203.0.113.238", dirPrefix: "pb-dep-", hostKeys: ["host_key", "other_host_key"] });
      port = 20000 + ((process.pid + 29) % 20000);
      await box.startSshd("sshd_config", port, []);
    });
    after(() => box?.close());

    test("twice: the second run changes nothing; units enabled offline; the key pinned only on a matching fingerprint; ends with runner doctor", () => {
      const root = join(dir, "root");
      const target = `203.0.113.238:${port}`;
      const args = ["--root", root, "--skip-packages", "--pool", "lab", "--target", target, "--target-fingerprint", fingerprint(join(box.dir, "host_key.pub"))];
      const first = run(args);
      assert.ok(first.code === 0 || first.code === 1, `exit ${first.code}: ${first.stderr}${first.stdout.slice(-800)}`);
      assert.match(first.stdout, /setup-runner: \[\d+\] patchbench runner doctor\n[\s\S]*\d+ ok, \d+ warn, \d+ fail: /, "the doctor's table ends the run");
      const kh = readFileSync(join(root, "etc/patchbench/ssh/known_hosts"), "utf8");
      assert.equal(kh, box.pin("host_key", port), "the key ssh-keyscan read, pinned as known_hosts has it");
      assert.equal(readlinkSync(join(root, "etc/systemd/system/multi-user.target.wants/patchbench-runner@lab.service")), "/etc/systemd/system/patchbench-runner@.service");
      // Links as systemd makes them: absolute, to the unit's path on the installed box.
      assert.equal(readlinkSync(join(root, "etc/systemd/system/multi-user.target.wants/patchbench-target-restore.service")), "/etc/systemd/system/patchbench-target-restore.service");
      assert.match(readFileSync(join(root, "etc/systemd/system/patchbench-runner@.service"), "utf8"), new RegExp(`ExecStart=/usr/bin/node ${PROJECT_ROOT}/bin/patchbench\\.js runner --pool %i`));
      assert.match(readFileSync(join(root, "etc/patchbench/target.env"), "utf8"), new RegExp(`PATCHBENCH_TARGET_HOST=203\\.0\\.113\\.238\nPATCHBENCH_TARGET_PORT=${port}\n`));
      assert.equal((lstatSync(join(root, "etc/patchbench/runner.env")).mode & 0o777).toString(8), "600");
      const snap = snapshot(root);

      const second = run(args);
      assert.equal(second.code, first.code, second.stderr);
      assert.deepEqual(snapshot(root), snap, "the second run changed nothing");
      assert.doesNotMatch(second.stdout, /wrote |run: (install|cp|ssh-keygen)/);
      assert.match(second.stdout, /already pinned/);
      assert.match(second.stdout, /patchbench-runner@\.service: unchanged/);

      // The admin authorizes the runner's key on the target and names it in a tree (switching with a
      // one-shot boot entry: this machine's kernel has no kexec); the script's doctor then checks it.
      writeFileSync(join(box.dir, "authorized_keys"), readFileSync(join(box.dir, "authorized_keys"), "utf8") + readFileSync(join(root, "etc/patchbench/ssh/id_ed25519.pub"), "utf8"));
      const yaml = join(root, "etc/patchbench/patchbench.yaml");
      writeFileSync(yaml, readFileSync(yaml, "utf8").replace(/^trees: \[bpf-next\]$/m, "trees: [bpf-next, lab]"));
      const ssh = {
        host: "203.0.113.238",
        port,
        identityFile: join(root, "etc/patchbench/ssh/id_ed25519"),
        knownHostsFile: join(root, "etc/patchbench/ssh/known_hosts"),
        switchCommand: ["grub-reboot", "patchbench"],
        rebootCommand: ["systemctl", "reboot"],
      };
      writeFileSync(join(root, "etc/patchbench/trees/lab.yaml"), JSON.stringify({ name: "lab", url: "https://example.invalid/linux.git", stages: ["apply"], boot: { target: "ssh", ssh } }));
      const third = run(args);
      assert.match(third.stdout, new RegExp(`^OK +ssh target 203\\.0\\.113\\.238:${port} +root@203\\.0\\.113\\.238:${port} answers \\(pinned host key, key login\\)$`, "m"));
      assert.match(third.stdout, new RegExp(`^OK +ssh target 203\\.0\\.113\\.238:${port} disk `, "m"));
      assert.equal(third.code, first.code, "the target adds no failure");
      process.stderr.write(`# setup-runner (with runner doctor): first run ${first.ms} ms, second ${second.ms} ms, with the target checked ${third.ms} ms; doctor exit ${first.code}\n`);
    });

    test("restore-target.sh: the target's restore command runs, then it waits for a new boot id; a changed host key or a target that never comes back is an error", () => {
      const bootId = join(box.dir, "boot_id");
      writeFileSync(bootId, "boot-1\n");
      writeFileSync(join(box.dir, "known_hosts_restore"), box.pin("host_key", port));
      writeFileSync(join(box.dir, "known_hosts_moved"), box.pin("other_host_key", port));
      const restore = (knownHosts: string, restoreCommand: string) => {
        const t0 = Date.now();
        const r = spawnSync("bash", [join(PROJECT_ROOT, "deploy", "restore-target.sh")], {
          encoding: "utf8",
          timeout: 60_000,
          env: {
            PATH: process.env.PATH,
            PATCHBENCH_TARGET_HOST: "203.0.113.238",
            PATCHBENCH_TARGET_PORT: String(port),
            PATCHBENCH_TARGET_KEY: box.clientKey,
            PATCHBENCH_TARGET_KNOWN_HOSTS: knownHosts,
            // Stand-ins for systemctl reboot and the kernel's boot id: this "target" shares this machine's kernel.
            PATCHBENCH_TARGET_RESTORE: restoreCommand,
            PATCHBENCH_TARGET_BOOT_ID: `cat ${bootId}`,
            PATCHBENCH_TARGET_POLL_SEC: "0.2",
            PATCHBENCH_TARGET_DEADLINE_SEC: "2",
          },
        });
        return { ...r, ms: Date.now() - t0 };
      };
      const ok = restore(join(box.dir, "known_hosts_restore"), `sh -c 'echo boot-2 > ${bootId}'`);
      assert.equal(ok.status, 0, ok.stderr);
      assert.match(ok.stdout, new RegExp(`ssh target root@203\\.0\\.113\\.238:${port} is back on \\S+ \\(boot id boot-1 -> boot-2\\)`));
      const moved = restore(join(box.dir, "known_hosts_moved"), `sh -c 'echo boot-3 > ${bootId}'`);
      assert.equal(moved.status, 1);
      assert.match(moved.stderr, /does not answer \(or its host key is not the pinned one\); not restored/);
      assert.equal(readFileSync(bootId, "utf8"), "boot-2\n", "nothing ran on a machine with another key");
      assert.equal(readFileSync(join(box.dir, "known_hosts_moved"), "utf8"), box.pin("other_host_key", port));
      const stuck = restore(join(box.dir, "known_hosts_restore"), "true");
      assert.equal(stuck.status, 1);
      assert.match(stuck.stderr, /did not come back within 2 s/);
      process.stderr.write(`# restore-target: restored in ${ok.ms} ms\n`);
    });

    test("a fingerprint the target does not offer is refused; a differently pinned key is never replaced without --replace-pin", () => {
      const root = join(dir, "pins");
      const base = ["--root", root, "--skip-packages", "--no-doctor", "--target", `203.0.113.238:${port}`, "--target-fingerprint"];
      const wrong = run([...base, fingerprint(join(box.dir, "other_host_key.pub"))]);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, new RegExp(`the ssh target \\[203\\.0\\.113\\.238\\]:${port} offers SHA256:\\S+ but not SHA256:\\S+; not pinned`));
      assert.equal(existsSync(join(root, "etc/patchbench/ssh/known_hosts")), false);
      // Pinned to another key (as after a reinstall of the target): refused, the file left as it was.
      const pinned = box.pin("other_host_key", port);
      writeFileSync(join(root, "etc/patchbench/ssh/known_hosts"), pinned);
      const changed = run([...base, fingerprint(join(box.dir, "host_key.pub"))]);
      assert.equal(changed.code, 1);
      assert.match(changed.stderr, /has a different key pinned \(SHA256:\S+\) than SHA256:\S+; refusing to overwrite it/);
      assert.equal(readFileSync(join(root, "etc/patchbench/ssh/known_hosts"), "utf8"), pinned);
      const replaced = run([...base, fingerprint(join(box.dir, "host_key.pub")), "--replace-pin"]);
      assert.equal(replaced.code, 0, replaced.stderr);
      assert.equal(readFileSync(join(root, "etc/patchbench/ssh/known_hosts"), "utf8"), box.pin("host_key", port));
      const down = run([...base, fingerprint(join(box.dir, "host_key.pub"))].map((a) => a.replace(`:${port}`, `:${port + 1}`)));
      assert.equal(down.code, 1);
      assert.match(down.stderr, /cannot read the host key of the ssh target .*ssh-keyscan got no answer/);
    });
  });
});
