import { z } from "zod";

const HOURS = /^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$/;

/** A tree's history: its branch tip measured on a schedule, each tip against the previous measured one. */
export const historySchema = z
  .object({
    enabled: z.boolean().default(false).describe("Measure this tree's tip on a schedule (needs the build and bench stages)."),
    everyHours: z
      .number()
      .min(0)
      .default(24)
      .describe("Measure a moved tip when the last measured one is at least this old; 0: at every move of the tip."),
    quietHours: z
      .string()
      .regex(HOURS, "HH:MM-HH:MM (UTC), e.g. 22:00-06:00")
      .nullable()
      .default(null)
      .describe("Tip flows are queued only in these hours (UTC), when the runners are quiet; null: at any time."),
    checkEverySec: z.number().int().min(5).default(60).describe("How often the orchestrator reads the tree's tip."),
    budgetMinutesPerDay: z
      .number()
      .min(0)
      .default(240)
      .describe("Runner time (estimated, builds and boots included) that history runs may take in 24 hours."),
  })
  .strict();

export type HistoryConfig = z.infer<typeof historySchema>;
