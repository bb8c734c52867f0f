import type { Series } from "../../domain/series.ts";
import { seriesSearchColumns } from "../series-search-columns.ts";
import { type ColumnDataType, type ColumnDefinitionBuilder, type Kysely, type Migration, PostgresAdapter, sql } from "kysely";

/**
 * The few column types that differ between the backends: SQLite's real is
 * 8 bytes (PostgreSQL's real is 4: double precision keeps every digit), its
 * blob is PostgreSQL's bytea, and an integer key that numbers itself is
 * `integer … autoincrement` on one and `serial` on the other.
 */
function typesOf(db: Kysely<unknown>): { real: ColumnDataType; blob: ColumnDataType; serial: ColumnDataType; pg: boolean } {
  const pg = db.getExecutor().adapter instanceof PostgresAdapter;
  return pg ? { real: "double precision", blob: "bytea", serial: "serial", pg } : { real: "real", blob: "blob", serial: "integer", pg };
}

/** Migrations 0001 to 0008, for SQLite and PostgreSQL alike (typesOf holds what differs). */
export const MIGRATIONS_0001_0008: Record<string, Migration> = {
  "0001-initial": {
    async up(db: Kysely<unknown>) {
      const t = typesOf(db);
      const autoId = (c: ColumnDefinitionBuilder) => (t.pg ? c.primaryKey() : c.primaryKey().autoIncrement());
      await db.schema
        .createTable("series")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("source", "text", (c) => c.notNull())
        .addColumn("title", "text", (c) => c.notNull())
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("tree", "text")
        .addColumn("data", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("raw_mails")
        .addColumn("message_id", "text", (c) => c.primaryKey())
        .addColumn("series_id", "text")
        .addColumn("raw", t.blob, (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("flows")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("series_id", "text", (c) => c.notNull())
        .addColumn("tree", "text", (c) => c.notNull())
        .addColumn("base", "text")
        .addColumn("plan", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("finished_at", "text")
        .execute();
      await db.schema
        .createTable("runs")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("flow_id", "text", (c) => c.notNull())
        .addColumn("stage", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("summary", "text", (c) => c.notNull())
        .addColumn("data", "text", (c) => c.notNull())
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("samples")
        .addColumn("id", t.serial, autoId)
        .addColumn("flow_id", "text", (c) => c.notNull())
        .addColumn("cell", "text", (c) => c.notNull())
        .addColumn("variant", "text", (c) => c.notNull())
        .addColumn("round", "integer", (c) => c.notNull())
        .addColumn("run", "integer", (c) => c.notNull())
        .addColumn("slot", "integer", (c) => c.notNull())
        .addColumn("throughput", t.real)
        .addColumn("ok", "integer", (c) => c.notNull())
        .addColumn("problem", "text")
        .addColumn("started_at", "text", (c) => c.notNull())
        .addColumn("ended_at", "text", (c) => c.notNull())
        .addColumn("values_json", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("samples_flow").on("samples").columns(["flow_id", "cell"]).execute();
      await db.schema
        .createTable("verdicts")
        .addColumn("flow_id", "text", (c) => c.notNull())
        .addColumn("cell", "text", (c) => c.notNull())
        .addColumn("verdict", "text", (c) => c.notNull())
        .addColumn("data", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("verdicts_pk", ["flow_id", "cell"])
        .execute();
      await db.schema
        .createTable("deliveries")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("flow_id", "text", (c) => c.notNull())
        .addColumn("channel", "text", (c) => c.notNull())
        .addColumn("message_id", "text")
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("target", "text", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("last_error", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("sent_at", "text")
        .execute();
      await db.schema
        .createTable("quarantine")
        .addColumn("id", t.serial, autoId)
        .addColumn("message_id", "text")
        .addColumn("reason", "text", (c) => c.notNull())
        .addColumn("source", "text", (c) => c.notNull())
        .addColumn("raw", t.blob)
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("cursors")
        .addColumn("source", "text", (c) => c.notNull())
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("value", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("cursors_pk", ["source", "key"])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const t of ["cursors", "quarantine", "deliveries", "verdicts", "samples", "runs", "flows", "raw_mails", "series"]) {
        await sql`drop table if exists ${sql.table(t)}`.execute(db);
      }
    },
  },
  "0002-leases-and-flow-jobs": {
    async up(db: Kysely<unknown>) {
      // The outbox lease: which attempt holds a row and since when (orphans are judged by this, not created_at).
      await db.schema.alterTable("deliveries").addColumn("claim_id", "text").execute();
      await db.schema.alterTable("deliveries").addColumn("claimed_at", "text").execute();
      // The exact BullMQ flow (JSON) a flow was enqueued with, so a Redis that lost it can be given it again.
      await db.schema.alterTable("flows").addColumn("job", "text").execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable("flows").dropColumn("job").execute();
      await db.schema.alterTable("deliveries").dropColumn("claimed_at").execute();
      await db.schema.alterTable("deliveries").dropColumn("claim_id").execute();
    },
  },
  "0003-superseded-samples": {
    async up(db: Kysely<unknown>) {
      // A re-measured pair's first runs stay stored; a report rebuilt from the store must leave them out as the first one did.
      await db.schema.alterTable("samples").addColumn("superseded", "text").execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable("samples").dropColumn("superseded").execute();
    },
  },
  "0004-github-tables": {
    async up(db: Kysely<unknown>) {
      // GitHub ids (check runs, comments) are past 2^31: 8-byte integers on both backends.
      await db.schema
        .createTable("github_targets")
        .addColumn("flow_id", "text", (c) => c.primaryKey())
        .addColumn("installation_id", "bigint", (c) => c.notNull())
        .addColumn("owner", "text", (c) => c.notNull())
        .addColumn("repo", "text", (c) => c.notNull())
        .addColumn("number", "integer", (c) => c.notNull())
        .addColumn("head_sha", "text", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("check_run_id", "bigint")
        .addColumn("comment_id", "bigint")
        .addColumn("request", "text")
        .addColumn("changed_files", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("pull_states")
        .addColumn("pr_key", "text", (c) => c.primaryKey())
        .addColumn("flows", "text", (c) => c.notNull())
        .addColumn("pending_bench", "text")
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
      // What the cursors table held for GitHub (JSON values) moves into the typed tables.
      const q = db as Kysely<{ cursors: { source: string; key: string; value: string; updated_at: string } } & Record<string, Record<string, unknown>>>;
      for (const r of await q.selectFrom("cursors").selectAll().where("source", "=", "github-flow").execute()) {
        const t = JSON.parse(r.value) as Record<string, unknown>;
        await q
          .insertInto("github_targets")
          .values({
            flow_id: r.key,
            installation_id: t.installationId,
            owner: t.owner,
            repo: t.repo,
            number: t.number,
            head_sha: t.headSha,
            kind: t.kind,
            check_run_id: t.checkRunId ?? null,
            comment_id: t.commentId ?? null,
            request: t.request ?? null,
            changed_files: JSON.stringify(t.changedFiles ?? []),
            state: t.state,
            updated_at: r.updated_at,
          })
          .execute();
      }
      for (const r of await q.selectFrom("cursors").selectAll().where("source", "=", "github-pr").execute()) {
        const p = JSON.parse(r.value) as { flows?: string[]; pendingBench?: string | null };
        await q
          .insertInto("pull_states")
          .values({ pr_key: r.key, flows: JSON.stringify(p.flows ?? []), pending_bench: p.pendingBench ?? null, updated_at: r.updated_at })
          .execute();
      }
      await q.deleteFrom("cursors").where("source", "in", ["github-flow", "github-pr"]).execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("pull_states").execute();
      await db.schema.dropTable("github_targets").execute();
    },
  },
  "0007-series-list-columns": {
    async up(db: Kysely<unknown>) {
      // The series list searches and filters these, not the JSON (whose keys and commit messages matched too).
      await db.schema.alterTable("series").addColumn("search_text", "text", (c) => c.notNull().defaultTo("")).execute();
      await db.schema.alterTable("series").addColumn("author_email", "text", (c) => c.notNull().defaultTo("")).execute();
      const q = db as Kysely<{ series: { id: string; data: string; search_text: string; author_email: string } }>;
      for (let after = ""; ; ) {
        const rows = await q.selectFrom("series").select(["id", "data"]).where("id", ">", after).orderBy("id").limit(500).execute();
        if (rows.length === 0) break;
        for (const r of rows) {
          let cols = { search_text: "", author_email: "" };
          try {
            cols = seriesSearchColumns(JSON.parse(r.data) as Series);
          } catch {
            // An unreadable row stays listed; it just matches no search.
          }
          await q.updateTable("series").set(cols).where("id", "=", r.id).execute();
        }
        after = rows.at(-1)!.id;
      }
      // The list's order and its filters; a flow's series and a verdict's kind for the per-series subqueries.
      await db.schema.createIndex("series_created").on("series").columns(["created_at", "id"]).execute();
      await db.schema.createIndex("series_tree_created").on("series").columns(["tree", "created_at", "id"]).execute();
      await db.schema.createIndex("series_author_created").on("series").columns(["author_email", "created_at", "id"]).execute();
      await db.schema.createIndex("flows_series").on("flows").columns(["series_id", "created_at"]).execute();
      await db.schema.createIndex("verdicts_verdict").on("verdicts").columns(["verdict", "flow_id"]).execute();
    },
    async down(db: Kysely<unknown>) {
      for (const i of ["verdicts_verdict", "flows_series", "series_author_created", "series_tree_created", "series_created"]) await db.schema.dropIndex(i).execute();
      await db.schema.alterTable("series").dropColumn("author_email").execute();
      await db.schema.alterTable("series").dropColumn("search_text").execute();
    },
  },
  "0008-patchwork-patches": {
    async up(db: Kysely<unknown>) {
      // Patchwork's ids and state of a mail, by Message-ID (the key a list copy and patchwork's copy share).
      await db.schema
        .createTable("patchwork_patches")
        .addColumn("instance", "text", (c) => c.notNull())
        .addColumn("project", "text", (c) => c.notNull())
        .addColumn("message_id", "text", (c) => c.notNull())
        .addColumn("patch_id", "integer")
        .addColumn("series_id", "integer")
        .addColumn("state", "text")
        .addColumn("updated_at", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("patchwork_patches_pk", ["instance", "project", "message_id"])
        .execute();
      await db.schema.createIndex("patchwork_patches_msgid").on("patchwork_patches").column("message_id").execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("patchwork_patches").execute();
    },
  },
};
