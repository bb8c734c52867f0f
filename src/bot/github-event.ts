import { z } from "zod";

/**
 * The job payload of the "github" queue: a webhook translated to the few
 * fields the work needs (parsed once at the job boundary). A comment
 * carries only its command line, never the whole (untrusted, maybe huge) body.
 */
const repoFields = {
  deliveryId: z.string().min(1),
  installationId: z.number().int().positive(),
  owner: z.string().regex(/^[A-Za-z0-9_.-]+$/),
  repo: z.string().regex(/^[A-Za-z0-9_.-]+$/),
};

export const githubEventSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("pull"),
    action: z.enum(["opened", "synchronize", "reopened", "closed"]),
    ...repoFields,
    number: z.number().int().positive(),
    title: z.string(),
    body: z.string(),
    headSha: z.string().regex(/^[0-9a-f]{40}$/),
    baseSha: z.string().regex(/^[0-9a-f]{40}$/),
    cloneUrl: z.string().min(1),
    authorLogin: z.string(),
    /** The PR's author_association (OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, NONE, …); jobs from before it was carried: NONE. */
    authorAssociation: z.string().default("NONE"),
    authorType: z.string().default("User"),
    createdAt: z.string().nullable(),
  }),
  z.object({
    kind: z.literal("comment"),
    ...repoFields,
    number: z.number().int().positive(),
    commentId: z.number().int().positive(),
    /** The /bench line only (at most MAX_COMMAND_LENGTH + a little; longer lines are refused by the parser). */
    command: z.string().max(4096),
    login: z.string(),
    association: z.string(),
    userType: z.string(),
  }),
  z.object({
    kind: z.literal("rerun"),
    ...repoFields,
    externalId: z.string(),
  }),
]);
export type GithubEvent = z.infer<typeof githubEventSchema>;

export const GITHUB_QUEUE = "github";
