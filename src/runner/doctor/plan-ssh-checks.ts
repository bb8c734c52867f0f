import type { DoctorCheck } from "./plan-doctor.ts";

/** How an ssh exchange with a machine ended (collect-doctor-facts.ts reads it through remote-peer's sshFailure). */
export type SshReach =
  | { kind: "ok" }
  | { kind: "not-configured"; missing: string }
  | { kind: "host-key-changed" | "host-key-unknown" | "login-refused" | "timeout" | "unreachable"; detail: string };

/** What the doctor read from the ssh boot target over ssh. */
export interface SshTargetFacts {
  /** user@host:port */
  name: string;
  host: string;
  port: number;
  user: string;
  identityFile: string | null;
  knownHostsFile: string | null;
  remoteDir: string;
  /** switchCommand/rebootCommand use kexec (else a one-shot boot entry: kexec is not needed). */
  usesKexec: boolean;
  reach: SshReach;
  /** Read on the target, when it answered. */
  kernel: string | null;
  kexecBinary: string | null;
  /** /sys/kernel/kexec_loaded exists: the kernel was built with kexec. */
  kexecInKernel: boolean;
  /** /proc/sys/kernel/kexec_load_disabled ("1": refused until the next boot); null when absent. */
  kexecLoadDisabled: string | null;
  /** /sys/kernel/security/lockdown, e.g. "[none] integrity confidentiality"; null when absent. */
  lockdown: string | null;
  /** Free space under boot.ssh.remoteDir (or its nearest existing parent). */
  freeDiskMB: number | null;
}

/** What the doctor read from the remote bench peer over ssh. */
export interface RemotePeerFacts {
  name: string;
  host: string;
  port: number;
  user: string;
  identityFile: string;
  knownHostsFile: string;
  reach: SshReach;
  kernel: string | null;
  netserver: string | null;
  /** `netserver -V` there, e.g. "Netperf version 2.7.0". */
  netserverVersion: string | null;
  /** ss (iproute2): how the runner finds its netserver's pid there. */
  ss: string | null;
}

const chk = (name: string, seen: string, status: DoctorCheck["status"], fix: string | null): DoctorCheck => ({ name, seen, status, fix: status === "ok" ? null : fix, tuning: false });

const PIN_FIX = (who: string, host: string, port: number, flag: string) =>
  `read ${who}'s key fingerprint on its console (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then pin it: deploy/setup-runner.sh ${flag} ${host}${port === 22 ? "" : `:${port}`} ${flag}-fingerprint SHA256:...`;

/** Pure: the reachability line of one machine; null fix when it answered. */
function reachCheck(name: string, m: { name: string; host: string; port: number; user: string; identityFile: string | null; knownHostsFile: string | null; reach: SshReach }, flag: string, configPrefix: string): DoctorCheck {
  const r = m.reach;
  switch (r.kind) {
    case "ok":
      return chk(name, `${m.name} answers (pinned host key, key login)`, "ok", null);
    case "not-configured":
      return chk(name, `${m.name}: ${r.missing} is not set; not checked (the doctor connects only with a key and a pinned host key)`, "fail", `set ${configPrefix}.${r.missing}; deploy/setup-runner.sh creates the key and the pin`);
    case "host-key-changed":
      return chk(
        name,
        `${m.name}: host key does not match the one pinned in ${m.knownHostsFile}; refused, and the pin is never overwritten`,
        "fail",
        `find out why ${m.host} has a new key (reinstalled? another machine on its address?); only then ${PIN_FIX("the machine", m.host, m.port, flag)}`,
      );
    case "host-key-unknown":
      return chk(name, `${m.name}: no key for it is pinned in ${m.knownHostsFile}; refused (never learned on first contact)`, "fail", PIN_FIX("the machine", m.host, m.port, flag));
    case "login-refused":
      return chk(name, `${m.name}, logging in: refused (${r.detail})`, "fail", `authorize the runner's key there: append ${m.identityFile}.pub to ~${m.user}/.ssh/authorized_keys on ${m.host}`);
    case "timeout":
    case "unreachable":
      return chk(
        name,
        `${m.name}, connecting: ${r.kind === "timeout" ? "timed out" : "unreachable"} (${r.detail})`,
        "fail",
        `check that ${m.host} is up and sshd listens on port ${m.port} (firewall: deploy/README.md); try: ssh -p ${m.port} -i ${m.identityFile} -o UserKnownHostsFile=${m.knownHostsFile} -o StrictHostKeyChecking=yes ${m.user}@${m.host} true`,
      );
  }
}

/** The machine as check names say it: host, and the port when not 22. */
const label = (m: { host: string; port: number }) => (m.port === 22 ? m.host : `${m.host}:${m.port}`);

/** Pure: the checks of the ssh boot target (boot.target: ssh). */
export function planSshTargetChecks(t: SshTargetFacts): DoctorCheck[] {
  const who = `ssh target ${label(t)}`;
  const out = [reachCheck(who, t, "--target", "boot.ssh")];
  if (t.reach.kind !== "ok") return out;
  const on = `on ${t.host}`;
  if (t.usesKexec) {
    const oneShot = "or switch with a one-shot boot entry instead: boot.ssh.switchCommand: [grub-reboot, patchbench], boot.ssh.rebootCommand: [systemctl, reboot]";
    const lockedDown = t.lockdown !== null && !/\[none\]/.test(t.lockdown);
    let seen: string;
    let fix: string | null = null;
    let status: DoctorCheck["status"] = "fail";
    if (!t.kexecInKernel) {
      seen = `${t.kernel ?? "its kernel"} has no kexec (no /sys/kernel/kexec_loaded)`;
      fix = `boot ${t.host} into a kernel built with CONFIG_KEXEC=y; ${oneShot}`;
    } else if (t.kexecLoadDisabled === "1") {
      seen = "kernel.kexec_load_disabled = 1: the kernel refuses kexec until the next boot";
      fix = `${on}: remove kernel.kexec_load_disabled from /etc/sysctl.conf and /etc/sysctl.d/*, then reboot it; ${oneShot}`;
    } else if (t.kexecBinary === null) {
      seen = "kexec not found in the login PATH";
      fix = `${on}: apt-get install kexec-tools`;
    } else if (lockedDown) {
      seen = `kernel lockdown ${t.lockdown}: only signed kernels can be kexec'd`;
      fix = `boot ${t.host} with lockdown=none (or sign the built kernels); ${oneShot}`;
      status = "warn";
    } else {
      seen = `${t.kexecBinary}; kernel ${t.kernel ?? "?"} allows kexec (kexec_load_disabled = ${t.kexecLoadDisabled ?? "absent"})`;
      status = "ok";
    }
    out.push(chk(`${who} kexec`, seen, status, fix));
  }
  const disk = t.freeDiskMB;
  out.push(
    chk(
      `${who} disk`,
      disk === null ? `free space under ${t.remoteDir} unknown` : `${disk} MB free under ${t.remoteDir}`,
      disk === null ? "warn" : disk < 512 ? "fail" : disk < 2048 ? "warn" : "ok",
      `${on}: free space under ${t.remoteDir} (a kernel and its modules need a few hundred MB), or set boot.ssh.remoteDir`,
    ),
  );
  return out;
}

/** Pure: the checks of the remote bench peer (bench.remote, the remote topology); `localNetperf` is the runner's own version. */
export function planRemotePeerChecks(p: RemotePeerFacts, localNetperf: string | null): DoctorCheck[] {
  const who = `bench peer ${label(p)}`;
  const out = [reachCheck(who, p, "--peer", "bench.remote")];
  if (p.reach.kind !== "ok") return out;
  const missing = [p.netserver === null ? "netserver" : null, p.ss === null ? "ss" : null].filter((x) => x !== null);
  out.push(
    chk(
      `${who} netserver`,
      missing.length ? `${missing.join(", ")} not found in the login PATH on ${p.host}` : `${p.netserver}${p.kernel ? ` (kernel ${p.kernel})` : ""}`,
      missing.length ? "fail" : "ok",
      `on ${p.host}: apt-get install ${[p.netserver === null ? "netperf" : null, p.ss === null ? "iproute2" : null].filter((x) => x !== null).join(" ")} (netperf is in Debian's non-free component)`,
    ),
  );
  if (p.netserver !== null) {
    const remote = /(\d+\.\d+\.\d+)/.exec(p.netserverVersion ?? "")?.[1] ?? null;
    const same = remote !== null && localNetperf !== null && remote === localNetperf;
    out.push(
      chk(
        `${who} netperf version`,
        `${remote ?? "unknown"} there, ${localNetperf ?? "none"} here`,
        same ? "ok" : "warn",
        `install the same netperf version on both ends (apt-get install netperf on ${p.host} and here)`,
      ),
    );
  }
  return out;
}
