import { z } from "zod";

/** The dashboard: read-only pages and a JSON API over the store. */
export const webSchema = z
  .object({
    enabled: z.boolean().default(true).describe("Serve the dashboard from `patchbench start`."),
    host: z.string().default("127.0.0.1").describe("Address the dashboard listens on (0.0.0.0 to publish it)."),
    port: z.number().int().min(0).max(65535).default(8470).describe("Port of the dashboard (0: any free port)."),
    publicUrl: z
      .string()
      .url()
      .nullable()
      .default(null)
      .describe("The dashboard's address as readers reach it (behind a proxy); null: http://<host>:<port>."),
    allowedHosts: z
      .array(z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, "a host name without port or scheme, e.g. bench.example.org"))
      .default([])
      .describe(
        "Host names the dashboard answers besides localhost, IP addresses, web.host and web.publicUrl's host; a request whose Host header names another is refused (421), so a DNS-rebinding page cannot read it.",
      ),
  })
  .strict();

export type WebConfig = z.infer<typeof webSchema>;
