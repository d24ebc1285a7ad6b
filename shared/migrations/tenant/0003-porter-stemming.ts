import type { Migration } from "../../db/migrate";

/**
 * Tenant DB v3: the full-text index stems English words (`porter` over
 * `unicode61`), so "decided" meets "decision" and "databases" meets
 * "database". The index is rebuilt from `memories` (external content), so
 * no memory is lost; the triggers of v2 keep writing to the new table, which
 * has the same name and columns.
 */
export default {
  version: 3,
  name: "porter-stemming",
  statements: [
    "DROP TABLE memories_fts",
    `CREATE VIRTUAL TABLE memories_fts USING fts5(
      title, tags, content,
      content = 'memories', content_rowid = 'seq',
      tokenize = 'porter unicode61 remove_diacritics 2'
    )`,
    "INSERT INTO memories_fts (memories_fts, rank) VALUES ('rank', 'bm25(10.0, 4.0, 1.0)')",
    "INSERT INTO memories_fts (memories_fts) VALUES ('rebuild')",
  ],
} satisfies Migration;
