import type { Migration } from "../../db/migrate";

/**
 * Tenant DB v4: who wrote what, and counts the console can read cheaply.
 *
 * Attribution (`shared/memory/attribution.ts`) is a small JSON object —
 * the acting account, what it came through (an API key's name, an OAuth
 * app's name, or the console) and the MCP client's name and version when
 * known. It is stored on the row it describes:
 *
 * - `memories.written_by`: who wrote the current version (content, title,
 *   tags…); `memories.changed_by`: who last changed its state (forgot,
 *   restored, resolved, moved it) without writing a new version;
 * - `memory_versions.written_by`: who wrote that earlier version (copied
 *   from the memory when it is replaced);
 * - `memory_links.created_by`: who linked the two memories.
 *
 * NULL means "before attribution": rows written before this migration.
 *
 * `memory_counts` keeps how many memories each (project, kind, status)
 * has, maintained by triggers, so no code path can forget to and the
 * console shows counts per project and kind without a COUNT(*) over the
 * project on every view. It starts from the rows already there.
 */
export default {
  version: 4,
  name: "attribution",
  statements: [
    "ALTER TABLE memories ADD COLUMN written_by TEXT",
    "ALTER TABLE memories ADD COLUMN changed_by TEXT",
    "ALTER TABLE memory_versions ADD COLUMN written_by TEXT",
    "ALTER TABLE memory_links ADD COLUMN created_by TEXT",
    `CREATE TABLE memory_counts (
      project TEXT NOT NULL,
      kind TEXT NOT NULL,
      status TEXT NOT NULL,
      n INTEGER NOT NULL,
      PRIMARY KEY (project, kind, status)
    ) WITHOUT ROWID`,
    `INSERT INTO memory_counts (project, kind, status, n)
      SELECT project, kind, status, COUNT(*) FROM memories GROUP BY project, kind, status`,
    `CREATE TRIGGER memory_counts_insert AFTER INSERT ON memories BEGIN
      INSERT INTO memory_counts (project, kind, status, n) VALUES (new.project, new.kind, new.status, 1)
        ON CONFLICT (project, kind, status) DO UPDATE SET n = n + 1;
    END`,
    `CREATE TRIGGER memory_counts_delete AFTER DELETE ON memories BEGIN
      UPDATE memory_counts SET n = n - 1 WHERE project = old.project AND kind = old.kind AND status = old.status;
    END`,
    `CREATE TRIGGER memory_counts_update AFTER UPDATE OF project, kind, status ON memories
      WHEN old.project != new.project OR old.kind != new.kind OR old.status != new.status BEGIN
      UPDATE memory_counts SET n = n - 1 WHERE project = old.project AND kind = old.kind AND status = old.status;
      INSERT INTO memory_counts (project, kind, status, n) VALUES (new.project, new.kind, new.status, 1)
        ON CONFLICT (project, kind, status) DO UPDATE SET n = n + 1;
    END`,
  ],
} satisfies Migration;
