import type { Migration } from "../../db/migrate";

/**
 * Tenant DB v5: the full-text index knows each memory's project, so a
 * project's search reads its own term statistics and scores its own
 * memories only (`shared/memory/recall.ts`, "Statistics per project" in
 * docs/mcp.md). A fourth column, `project_key`, holds one token per project
 * (`p` and the slug's UTF-8 in hex: one token whatever the slug's
 * punctuation, so `app` never matches `app-2`); queries name the three text
 * columns, so a query word never meets it, and `bm25` weighs it 0.
 *
 * The index's content is a view of `memories` that adds the key, so
 * `memories` keeps its columns (a tenant move copies base tables only, and
 * this view and the index are rebuilt by migrations on the target). The
 * triggers write the key too, and reindex a memory whose project changes
 * (`projects rename`). The index is rebuilt from `memories`: nothing is lost.
 */
const KEY = (row: "new" | "old") => `'p' || lower(hex(${row}.project))`;

export default {
  version: 5,
  name: "project-scoped-search",
  statements: [
    "DROP TRIGGER memories_fts_insert",
    "DROP TRIGGER memories_fts_delete",
    "DROP TRIGGER memories_fts_update",
    "DROP TABLE memories_fts",
    `CREATE VIEW memories_fts_source AS
       SELECT seq, title, tags, content, 'p' || lower(hex(project)) AS project_key FROM memories`,
    `CREATE VIRTUAL TABLE memories_fts USING fts5(
      title, tags, content, project_key,
      content = 'memories_fts_source', content_rowid = 'seq',
      tokenize = 'porter unicode61 remove_diacritics 2'
    )`,
    "INSERT INTO memories_fts (memories_fts, rank) VALUES ('rank', 'bm25(10.0, 4.0, 1.0, 0.0)')",
    "INSERT INTO memories_fts (memories_fts) VALUES ('rebuild')",
    `CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
      INSERT INTO memories_fts (rowid, title, tags, content, project_key)
        VALUES (new.seq, new.title, new.tags, new.content, ${KEY("new")});
    END`,
    `CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
      INSERT INTO memories_fts (memories_fts, rowid, title, tags, content, project_key)
        VALUES ('delete', old.seq, old.title, old.tags, old.content, ${KEY("old")});
    END`,
    `CREATE TRIGGER memories_fts_update AFTER UPDATE OF title, tags, content, project ON memories BEGIN
      INSERT INTO memories_fts (memories_fts, rowid, title, tags, content, project_key)
        VALUES ('delete', old.seq, old.title, old.tags, old.content, ${KEY("old")});
      INSERT INTO memories_fts (rowid, title, tags, content, project_key)
        VALUES (new.seq, new.title, new.tags, new.content, ${KEY("new")});
    END`,
  ],
} satisfies Migration;
