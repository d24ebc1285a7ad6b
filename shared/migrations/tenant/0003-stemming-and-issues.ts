import type { Migration } from "../../db/migrate";

/**
 * Tenant DB v3: the full-text index stems English words (`porter` over
 * `unicode61`), so "decided" meets "decision" and "databases" meets
 * "database". The index is rebuilt from `memories` (external content), so
 * no memory is lost; the triggers of v2 keep writing to the new table, which
 * has the same name and columns.
 *
 * Every memory of kind `issue` is a tracked issue from now on (before, one
 * saved with `remember` had no issue state and never showed as open): those
 * get the state and severity `track` would have given them.
 */
export default {
  version: 3,
  name: "stemming-and-issues",
  statements: [
    "DROP TABLE memories_fts",
    `CREATE VIRTUAL TABLE memories_fts USING fts5(
      title, tags, content,
      content = 'memories', content_rowid = 'seq',
      tokenize = 'porter unicode61 remove_diacritics 2'
    )`,
    "INSERT INTO memories_fts (memories_fts, rank) VALUES ('rank', 'bm25(10.0, 4.0, 1.0)')",
    "INSERT INTO memories_fts (memories_fts) VALUES ('rebuild')",
    "UPDATE memories SET issue_status = 'open', severity = COALESCE(severity, 3) WHERE kind = 'issue' AND issue_status IS NULL",
  ],
} satisfies Migration;
