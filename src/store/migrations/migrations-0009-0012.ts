import { ownMessageIds, type Series, seriesLists } from "../../domain/series.ts";
import { parseMessageHeaders } from "../../ingest/mail/parse-message.ts";
import type { Kysely, Migration } from "kysely";

/** Migrations 0009 on, for SQLite and PostgreSQL alike. */
export const MIGRATIONS_0009_0012: Record<string, Migration> = {
  "0009-version-and-run-lookups": {
    async up(db: Kysely<unknown>) {
      // The newer versions of a series are found by this column, not by a LIKE over every series' JSON.
      await db.schema.alterTable("series").addColumn("previous_version", "text").execute();
      const q = db as Kysely<{ series: { id: string; data: string; previous_version: string | null } }>;
      for (let after = ""; ; ) {
        const rows = await q.selectFrom("series").select(["id", "data"]).where("id", ">", after).orderBy("id").limit(500).execute();
        if (rows.length === 0) break;
        for (const r of rows) {
          let previous: string | null = null;
          try {
            previous = (JSON.parse(r.data) as Series).previousVersion ?? null;
          } catch {
            // An unreadable row has no chain to follow.
          }
          if (previous !== null) await q.updateTable("series").set({ previous_version: previous }).where("id", "=", r.id).execute();
        }
        after = rows.at(-1)!.id;
      }
      await db.schema.createIndex("series_previous_version").on("series").columns(["previous_version", "created_at"]).execute();
      // A flow's stage results were read by scanning every run (a run page at 20,000 flows: 80 ms).
      await db.schema.createIndex("runs_flow").on("runs").column("flow_id").execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropIndex("runs_flow").execute();
      await db.schema.dropIndex("series_previous_version").execute();
      await db.schema.alterTable("series").dropColumn("previous_version").execute();
    },
  },
  "0010-series-own-mails": {
    async up(db: Kysely<unknown>) {
      // A patchwork state names a Message-ID: its series were found by a LIKE over every series' JSON.
      await db.schema
        .createTable("series_mails")
        .addColumn("message_id", "text", (c) => c.notNull())
        .addColumn("series_id", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("series_mails_pk", ["message_id", "series_id"])
        .execute();
      await db.schema.createIndex("series_mails_series").on("series_mails").column("series_id").execute();
      const q = db as Kysely<{ series: { id: string; data: string }; series_mails: { message_id: string; series_id: string } }>;
      for (let after = ""; ; ) {
        const rows = await q.selectFrom("series").select(["id", "data"]).where("id", ">", after).orderBy("id").limit(500).execute();
        if (rows.length === 0) break;
        for (const r of rows) {
          let own: string[] = [];
          try {
            own = ownMessageIds(JSON.parse(r.data) as Series);
          } catch {
            // An unreadable row names no mail.
          }
          const values = [...new Set(own)].map((message_id) => ({ message_id, series_id: r.id }));
          if (values.length) await q.insertInto("series_mails").values(values).execute();
        }
        after = rows.at(-1)!.id;
      }
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("series_mails").execute();
    },
  },
  "0011-patchwork-check-states": {
    async up(db: Kysely<unknown>) {
      // The check each patch and context should show: a pending posted late is ended by the final one it lost to.
      await db.schema
        .createTable("patchwork_check_states")
        .addColumn("instance", "text", (c) => c.notNull())
        .addColumn("project", "text", (c) => c.notNull())
        .addColumn("patch_id", "integer", (c) => c.notNull())
        .addColumn("context", "text", (c) => c.notNull())
        .addColumn("flow_id", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("description", "text", (c) => c.notNull())
        .addColumn("target_url", "text")
        .addColumn("final", "integer", (c) => c.notNull())
        .addColumn("only_over_pending", "integer", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .addColumn("posted_at", "text")
        .addPrimaryKeyConstraint("patchwork_check_states_pk", ["instance", "project", "patch_id", "context"])
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("patchwork_check_states").execute();
    },
  },
  "0012-series-lists": {
    async up(db: Kysely<unknown>) {
      // The series list's filter by mailing list: an indexed pair per list a series' mails came through.
      await db.schema
        .createTable("series_lists")
        .addColumn("list_id", "text", (c) => c.notNull())
        .addColumn("series_id", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("series_lists_pk", ["list_id", "series_id"])
        .execute();
      await db.schema.createIndex("series_lists_series").on("series_lists").column("series_id").execute();
      // Filled from the List-Ids of each stored series' own raw mails, read as ingest reads them:
      // series saved before this table keep no lists of their own.
      type Tables = {
        series: { id: string };
        series_mails: { message_id: string; series_id: string };
        raw_mails: { message_id: string; raw: Uint8Array };
        series_lists: { list_id: string; series_id: string };
      };
      const q = db as Kysely<Tables>;
      // Pages of few series: their raw mails are read whole.
      for (let after = ""; ; ) {
        const ids = (await q.selectFrom("series").select("id").where("id", ">", after).orderBy("id").limit(50).execute()).map((r) => r.id);
        if (ids.length === 0) break;
        const mails = await q
          .selectFrom("series_mails")
          .innerJoin("raw_mails", "raw_mails.message_id", "series_mails.message_id")
          .select(["series_mails.series_id", "raw_mails.raw"])
          .where("series_mails.series_id", "in", ids)
          .execute();
        const listIds = new Map<string, (string | null)[]>();
        for (const m of mails) {
          const l = listIds.get(m.series_id) ?? [];
          l.push(parseMessageHeaders(m.raw).listId);
          listIds.set(m.series_id, l);
        }
        const values = [...listIds].flatMap(([series_id, l]) => seriesLists(l).map((list_id) => ({ list_id, series_id })));
        if (values.length) await q.insertInto("series_lists").values(values).execute();
        after = ids.at(-1)!;
      }
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable("series_lists").execute();
    },
  },
};
