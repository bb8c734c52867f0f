import { z } from "zod";

/** Patchwork: checks on the patches of series it also has. The token comes from env only. */
export const patchworkSchema = z
  .object({
    enabled: z.boolean().default(false).describe("Post checks to patchwork when a report is done."),
    url: z.string().url().default("https://patchwork.kernel.org").describe("Root of the patchwork instance (REST API 1.3)."),
    project: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/)
      .default("netdevbpf")
      .describe("Project link name; a series' patches are found there by Message-ID."),
    tokenEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/)
      .default("PATCHBENCH_PATCHWORK_TOKEN")
      .describe("Environment variable holding the API token; its user must maintain the project (patchwork lets only maintainers post checks)."),
    contextPrefix: z
      .string()
      .regex(/^[-a-zA-Z0-9_]+$/, "a slug: patchwork refuses other characters in a check's context")
      .default("patchbench")
      .describe("Checks are posted as <prefix>-apply, -build, -selftests, -bench."),
    targetUrl: z
      .string()
      .nullable()
      .default(null)
      .describe("Link on each check; {flow} is replaced. Default: the run's dashboard page when web.publicUrl is set, else the series' thread on lore.kernel.org."),
  })
  .strict();

export type PatchworkConfig = z.infer<typeof patchworkSchema>;
