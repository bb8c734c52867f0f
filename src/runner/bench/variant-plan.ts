import { bpfObjectLabel, type Variant, type VariantSetting } from "../../domain/bench.ts";
import { inputError } from "../../lib/errors.ts";
import { planSettings, type SysctlAssignment } from "./host-settings.ts";

/**
 * Pure: what one variant changes, split by who applies it. Sysctls go through
 * the journaled host-settings; socket options become netperf test-specific
 * arguments; BPF programs are attached per side (cgroup sock_ops, tc egress)
 * and detached after it, their leftovers recognised by owner-PID names.
 */
export interface VariantPlan {
  name: string;
  sysctls: SysctlAssignment[];
  /** netperf test-specific arguments (after `--`). */
  netperfArgs: string[];
  /** At most one sock_ops object per variant (one program per cgroup attach type). */
  cgroupBpf: { object: string; program: string | null; label: string } | null;
  tcBpf: { object: string; section: string; side: "client" | "server"; label: string }[];
}

const OBJECT_RE = /^\/[A-Za-z0-9_./+-]{1,4000}\.o$/;
const SECTION_RE = /^[A-Za-z0-9_./-]{1,64}$/;
const PROGRAM_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const BYTES_RE = /^[0-9]{1,10}$/;

function checkObject(path: string, what: string): void {
  if (!OBJECT_RE.test(path) || path.split("/").includes("..")) {
    throw inputError(`${what}: object ${JSON.stringify(path)} must be an absolute path to a .o file (no "..")`);
  }
}

function sockoptArgs(s: Extract<VariantSetting, { kind: "sockopt" }>): string[] {
  if (s.option === "nodelay") {
    if (s.value !== undefined) throw inputError("sockopt nodelay takes no value");
    return ["-D"];
  }
  if (s.value === undefined || !BYTES_RE.test(s.value) || Number(s.value) < 1) {
    throw inputError(`sockopt ${s.option} needs a size in bytes, got ${JSON.stringify(s.value)}`);
  }
  // netperf omni: -s/-S set the local/remote socket send and receive buffer sizes.
  return [s.option === "local-buffer" ? "-s" : "-S", `${s.value},${s.value}`];
}

export function planVariant(v: Variant): VariantPlan {
  const plan: VariantPlan = { name: v.name, sysctls: planSettings(v.settings), netperfArgs: [], cgroupBpf: null, tcBpf: [] };
  const seenOpts = new Set<string>();
  for (const s of v.settings) {
    if (s.kind === "sockopt") {
      if (seenOpts.has(s.option)) throw inputError(`variant ${v.name}: sockopt ${s.option} is given twice`);
      seenOpts.add(s.option);
      plan.netperfArgs.push(...sockoptArgs(s));
    } else if (s.kind === "bpf-cgroup") {
      checkObject(s.object, `variant ${v.name}`);
      if (s.program !== undefined && !PROGRAM_RE.test(s.program)) throw inputError(`variant ${v.name}: bad program name ${JSON.stringify(s.program)}`);
      if (plan.cgroupBpf) throw inputError(`variant ${v.name}: only one bpf-cgroup object per variant`);
      plan.cgroupBpf = { object: s.object, program: s.program ?? null, label: bpfObjectLabel(s) };
    } else if (s.kind === "tc-bpf") {
      checkObject(s.object, `variant ${v.name}`);
      if (!SECTION_RE.test(s.section)) throw inputError(`variant ${v.name}: bad section ${JSON.stringify(s.section)}`);
      if (s.side !== "client" && s.side !== "server") throw inputError(`variant ${v.name}: tc-bpf side must be client or server`);
      if (plan.tcBpf.some((t) => t.side === s.side)) throw inputError(`variant ${v.name}: one tc-bpf program per side`);
      plan.tcBpf.push({ object: s.object, section: s.section, side: s.side, label: bpfObjectLabel(s) });
    }
  }
  return plan;
}

/** Short words for a variant's changes, for reports and `--json`. */
export function describeVariant(v: Variant): string {
  if (v.settings.length === 0) return "no change";
  return v.settings
    .map((s) => {
      switch (s.kind) {
        case "sysctl":
          return `sysctl ${s.key}=${s.value}`;
        case "kernel":
          return `kernel ${s.ref}`;
        case "sockopt":
          return `netperf ${s.option}${s.value === undefined ? "" : `=${s.value}`}`;
        case "bpf-cgroup":
          return `sock_ops ${bpfObjectLabel(s)}${s.program ? `:${s.program}` : ""} on a child cgroup`;
        case "tc-bpf":
          return `tc-bpf ${bpfObjectLabel(s)} sec ${s.section} on ${s.side} egress`;
      }
      return "";
    })
    .join(", ");
}

/**
 * Parse a command-line variant: `[name:]setting[,setting…]`. A setting is
 * `busy_read=50` (net.core.* shorthand) or `net.ipv4.tcp_x=1` (sysctl),
 * `nodelay`, `local-buffer=N`, `remote-buffer=N` (netperf socket options),
 * `bpf-cgroup=/abs/obj.o[:program]`, `tc-bpf=/abs/obj.o[:section][@server]`,
 * or `none` (no change, e.g. for A/A). Without a name the spec is the name.
 */
export function parseVariantSpec(spec: string): Variant {
  const s = spec.trim();
  if (s === "") throw inputError("empty --variant");
  const colon = s.indexOf(":");
  const eq = s.indexOf("=");
  const hasName = colon > 0 && (eq < 0 || colon < eq);
  const name = hasName ? s.slice(0, colon) : s;
  const body = hasName ? s.slice(colon + 1) : s;
  const settings: VariantSetting[] = [];
  for (const part of body.split(",").map((p) => p.trim()).filter(Boolean)) {
    if (part === "none") continue;
    if (part === "nodelay") {
      settings.push({ kind: "sockopt", option: "nodelay" });
      continue;
    }
    const i = part.indexOf("=");
    if (i <= 0) throw inputError(`--variant ${JSON.stringify(spec)}: "${part}" is not key=value`);
    const key = part.slice(0, i);
    const value = part.slice(i + 1);
    if (key === "local-buffer" || key === "remote-buffer") settings.push({ kind: "sockopt", option: key, value });
    else if (key === "bpf-cgroup") {
      const [object = "", program] = value.split(":");
      settings.push({ kind: "bpf-cgroup", object, ...(program ? { program } : {}) });
    } else if (key === "tc-bpf") {
      const [path = "", side = "client"] = value.split("@");
      const [object = "", section = "tc"] = path.split(":");
      if (side !== "client" && side !== "server") throw inputError(`--variant ${JSON.stringify(spec)}: tc-bpf side must be client or server`);
      settings.push({ kind: "tc-bpf", object, section, side });
    } else settings.push({ kind: "sysctl", key: key.includes(".") ? key : `net.core.${key}`, value });
  }
  const name40 = name.length > 40 ? name.slice(0, 40) : name;
  if (!/^[A-Za-z0-9_.=+/:@-]{1,40}$/.test(name40)) throw inputError(`--variant name ${JSON.stringify(name)}: use 1-40 of A-Z a-z 0-9 _ . = + - (or give name:settings)`);
  const v: Variant = { name: name40, settings };
  planVariant(v);
  return v;
}
