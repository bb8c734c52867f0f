import type { BootConfig } from "../../config/schema.ts";
import type { Exec } from "../../lib/exec.ts";
import type { Sandbox } from "../../lib/sandbox.ts";
import type { BootTarget } from "./boot-target.ts";
import { createHostTarget } from "./host-target.ts";
import { createQemuTarget } from "./qemu-target.ts";
import { createSshTarget } from "./ssh-target.ts";

/** The configured boot target. */
export function createBootTarget(cfg: BootConfig, deps: { exec?: Exec; sandbox?: Sandbox } = {}): BootTarget {
  const exec = deps.exec ? { exec: deps.exec } : {};
  if (cfg.target === "qemu") return createQemuTarget(cfg.qemu, { ...exec, ...(deps.sandbox ? { sandbox: deps.sandbox } : {}) });
  if (cfg.target === "ssh") return createSshTarget(cfg.ssh, exec);
  return createHostTarget(exec);
}
