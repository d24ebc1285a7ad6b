import type { Migration } from "../../db/migrate";

/**
 * Tenant DB v2: the memory model.
 *
 * - `memories.seq` is an explicit INTEGER PRIMARY KEY because the FTS index is
 *   an external-content table keyed by rowid: an implicit rowid may be
 *   renumbered by VACUUM, which would silently point the index at the wrong
 *   rows. The public id is the random `id`.
 * - Tags and file paths are kept twice: as JSON on the row (returned as is)
 *   and as rows in `memory_tags` / `memory_files` so filtering by them uses an
 *   index instead of parsing every row's JSON.
 * - Triggers keep `memories_fts` in step with every insert, update and delete,
 *   so no code path can forget to.
 * - Times are integer milliseconds since the epoch: ranking does arithmetic on them.
 */
export default {
  version: 2,
  name: "memories",
  statements: [
    `CREATE TABLE projects (
      slug TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      created_at INTEGER NOT NULL
    )`,
    `CREATE TABLE memories (
      seq INTEGER PRIMARY KEY,
      id TEXT NOT NULL UNIQUE,
      project TEXT NOT NULL DEFAULT 'default',
      kind TEXT NOT NULL CHECK (kind IN ('note', 'fact', 'decision', 'learning', 'preference', 'procedure', 'issue', 'event')),
      title TEXT,
      content TEXT NOT NULL,
      content_hash TEXT NOT NULL,
      tags TEXT NOT NULL DEFAULT '[]',
      files TEXT NOT NULL DEFAULT '[]',
      importance INTEGER NOT NULL DEFAULT 3 CHECK (importance BETWEEN 1 AND 5),
      status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'superseded', 'forgotten')),
      supersedes TEXT,
      superseded_by TEXT,
      source TEXT,
      idempotency_key TEXT UNIQUE,
      version INTEGER NOT NULL DEFAULT 1,
      issue_status TEXT CHECK (issue_status IN ('open', 'resolved')),
      severity INTEGER CHECK (severity BETWEEN 1 AND 5),
      resolution TEXT,
      resolved_at INTEGER,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      accessed_at INTEGER,
      access_count INTEGER NOT NULL DEFAULT 0,
      forgotten_at INTEGER
    )`,
    "CREATE INDEX memories_project_hash ON memories (project, content_hash)",
    "CREATE INDEX memories_status_updated ON memories (status, updated_at)",
    "CREATE INDEX memories_project_status_updated ON memories (project, status, updated_at)",
    "CREATE INDEX memories_issues ON memories (issue_status, severity) WHERE issue_status IS NOT NULL",
    "CREATE INDEX memories_forgotten ON memories (forgotten_at) WHERE forgotten_at IS NOT NULL",
    `CREATE TABLE memory_tags (
      memory_seq INTEGER NOT NULL,
      tag TEXT NOT NULL,
      PRIMARY KEY (tag, memory_seq)
    ) WITHOUT ROWID`,
    "CREATE INDEX memory_tags_memory ON memory_tags (memory_seq)",
    `CREATE TABLE memory_files (
      memory_seq INTEGER NOT NULL,
      path TEXT NOT NULL,
      PRIMARY KEY (path, memory_seq)
    ) WITHOUT ROWID`,
    "CREATE INDEX memory_files_memory ON memory_files (memory_seq)",
    `CREATE TABLE memory_versions (
      memory_id TEXT NOT NULL,
      version INTEGER NOT NULL,
      title TEXT,
      content TEXT NOT NULL,
      tags TEXT NOT NULL,
      files TEXT NOT NULL,
      importance INTEGER NOT NULL,
      replaced_at INTEGER NOT NULL,
      PRIMARY KEY (memory_id, version)
    ) WITHOUT ROWID`,
    `CREATE TABLE memory_links (
      from_id TEXT NOT NULL,
      to_id TEXT NOT NULL,
      relation TEXT NOT NULL CHECK (relation IN ('relates_to', 'depends_on', 'contradicts', 'supersedes', 'part_of')),
      created_at INTEGER NOT NULL,
      PRIMARY KEY (from_id, to_id, relation)
    ) WITHOUT ROWID`,
    "CREATE INDEX memory_links_to ON memory_links (to_id)",
    `CREATE TABLE work_sessions (
      id TEXT PRIMARY KEY,
      project TEXT NOT NULL,
      goal TEXT,
      outcome TEXT,
      next_steps TEXT NOT NULL DEFAULT '[]',
      success INTEGER,
      started_at INTEGER NOT NULL,
      ended_at INTEGER
    )`,
    "CREATE INDEX work_sessions_project_started ON work_sessions (project, started_at)",
    // Title matters most, then tags, then body: weights for bm25 in column order.
    `CREATE VIRTUAL TABLE memories_fts USING fts5(
      title, tags, content,
      content = 'memories', content_rowid = 'seq',
      tokenize = 'unicode61 remove_diacritics 2'
    )`,
    "INSERT INTO memories_fts (memories_fts, rank) VALUES ('rank', 'bm25(10.0, 4.0, 1.0)')",
    `CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
      INSERT INTO memories_fts (rowid, title, tags, content) VALUES (new.seq, new.title, new.tags, new.content);
    END`,
    `CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
      INSERT INTO memories_fts (memories_fts, rowid, title, tags, content)
        VALUES ('delete', old.seq, old.title, old.tags, old.content);
    END`,
    `CREATE TRIGGER memories_fts_update AFTER UPDATE OF title, tags, content ON memories BEGIN
      INSERT INTO memories_fts (memories_fts, rowid, title, tags, content)
        VALUES ('delete', old.seq, old.title, old.tags, old.content);
      INSERT INTO memories_fts (rowid, title, tags, content) VALUES (new.seq, new.title, new.tags, new.content);
    END`,
    "INSERT INTO projects (slug, name, created_at) VALUES ('default', 'default', CAST(unixepoch('subsec') * 1000 AS INTEGER))",
  ],
} satisfies Migration;
