import { readFileSync } from "node:fs";
import type { GithubConfig } from "../../config/schema.ts";
import { configError } from "../../lib/errors.ts";

/** The GitHub App's identity. Secrets come from the environment only, never from config files. */
export interface GithubAppSettings {
  appId: string;
  privateKey: string;
  webhookSecret: string;
  baseUrl: string;
}

/**
 * Read the app's secrets (at call time, never at import):
 * PATCHBENCH_GITHUB_APP_ID, PATCHBENCH_GITHUB_PRIVATE_KEY (PEM, or base64 of it)
 * or PATCHBENCH_GITHUB_PRIVATE_KEY_PATH, PATCHBENCH_GITHUB_WEBHOOK_SECRET.
 */
export function readGithubAppSettings(config: GithubConfig, env: NodeJS.ProcessEnv = process.env): GithubAppSettings {
  const missing: string[] = [];
  const appId = env.PATCHBENCH_GITHUB_APP_ID ?? "";
  if (!/^[0-9]+$/.test(appId)) missing.push("PATCHBENCH_GITHUB_APP_ID (a number)");
  let privateKey = env.PATCHBENCH_GITHUB_PRIVATE_KEY ?? "";
  if (!privateKey && env.PATCHBENCH_GITHUB_PRIVATE_KEY_PATH) {
    try {
      privateKey = readFileSync(env.PATCHBENCH_GITHUB_PRIVATE_KEY_PATH, "utf8");
    } catch (e) {
      throw configError(`cannot read PATCHBENCH_GITHUB_PRIVATE_KEY_PATH: ${(e as Error).message}`);
    }
  }
  if (privateKey && !privateKey.includes("-----BEGIN")) privateKey = Buffer.from(privateKey, "base64").toString("utf8");
  if (!privateKey.includes("PRIVATE KEY-----")) missing.push("PATCHBENCH_GITHUB_PRIVATE_KEY or PATCHBENCH_GITHUB_PRIVATE_KEY_PATH (a PEM key)");
  const webhookSecret = env.PATCHBENCH_GITHUB_WEBHOOK_SECRET ?? "";
  if (!webhookSecret) missing.push("PATCHBENCH_GITHUB_WEBHOOK_SECRET");
  if (missing.length) {
    throw configError(`github.enabled is true but the environment lacks ${missing.join(", ")}`, "set them in the service's environment (never in patchbench.yaml)");
  }
  return { appId, privateKey, webhookSecret, baseUrl: config.baseUrl.replace(/\/$/, "") };
}
