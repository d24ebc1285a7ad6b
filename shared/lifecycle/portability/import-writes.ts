import type { InStatement, Row } from "@libsql/client/web";
import type { Database } from "../../db/client";
import { attributionColumn } from "../../memory/attribution";
import type { ImportedMemory, ImportedWorkSession } from "./import-rules";

/**
 * The SQL of an import, beside the orchestration in `import.ts`: records
 * already checked against the field rules and metered go in, in chunks of
 * whole statements (`json_each` over a chunk). Lookups start from the chunk
 * (`json_each(?) CROSS JOIN table`), so SQLite probes the table's index per
 * item instead of scanning the table once per chunk.
 */

export const ms = (value: string | null | undefined) => (value == null ? null : Date.parse(value));

export interface MemoryToWrite {
  record: ImportedMemory;
  id: string;
  hash: string;
  tags: string[];
  files: string[];
}

/** Project slugs already stored. */
export async function storedProjects(db: Database): Promise<Set<string>> {
  return new Set((await db.execute("SELECT slug FROM projects", "read")).rows.map((row) => String(row.slug)));
}

/**
 * Create projects: the named ones with their name and time (one that exists
 * keeps its name and takes the earlier creation time, so a round trip
 * through a fresh tenant, whose `default` project is new, changes nothing),
 * and the ones memories name without a record, named by their slug.
 */
export async function writeProjects(
  db: Database,
  named: { slug: string; name: string; created_at: string | null }[],
  implied: string[],
): Promise<void> {
  const statements: InStatement[] = named.map((project) => ({
    sql: `INSERT INTO projects (slug, name, created_at) VALUES (?, ?, ?)
          ON CONFLICT (slug) DO UPDATE SET created_at = MIN(created_at, excluded.created_at)`,
    args: [project.slug, project.name, ms(project.created_at) ?? Date.now()],
  }));
  if (implied.length > 0) {
    statements.push({
      sql: "INSERT OR IGNORE INTO projects (slug, name, created_at) SELECT value, value, ? FROM json_each(?)",
      args: [Date.now(), JSON.stringify(implied)],
    });
  }
  if (statements.length > 0) await db.batch(statements, "write");
}

/** One transaction per chunk; returns the ids of the chunk that are now stored. */
export async function writeMemories(db: Database, chunk: MemoryToWrite[]): Promise<Set<string>> {
  const rows = chunk.map(({ record, id, hash, tags, files }) => ({
    id,
    project: record.project,
    kind: record.kind,
    title: record.title,
    content: record.content,
    content_hash: hash,
    tags: JSON.stringify(tags),
    files: JSON.stringify(files),
    importance: record.importance,
    status: record.status,
    supersedes: record.supersedes,
    superseded_by: record.superseded_by,
    source: record.source,
    idempotency_key: record.idempotency_key,
    version: record.version,
    issue_status: record.issue?.status ?? null,
    severity: record.issue?.severity ?? null,
    resolution: record.issue?.resolution ?? null,
    resolved_at: ms(record.issue?.resolved_at),
    created_at: ms(record.created_at),
    updated_at: ms(record.updated_at) ?? ms(record.created_at),
    accessed_at: ms(record.accessed_at),
    access_count: record.access_count,
    forgotten_at: ms(record.forgotten_at),
    written_by: attributionColumn(record.written_by),
    changed_by: attributionColumn(record.changed_by),
  }));
  const columns = Object.keys(rows[0] ?? {});
  const versions = chunk.flatMap(({ id, record }) =>
    record.versions.map((version) => ({
      memory_id: id,
      version: version.version,
      title: version.title,
      content: version.content,
      tags: JSON.stringify(version.tags),
      files: JSON.stringify(version.files),
      importance: version.importance,
      replaced_at: ms(version.replaced_at),
      written_by: attributionColumn(version.written_by),
    })),
  );
  const ids = JSON.stringify(rows.map((row) => row.id));
  const results = (await db.batch(
    [
      {
        // The same duplicate checks as `remember`, inside the write, so a save racing the import still yields one
        // memory. `+m.status` keeps SQLite off the (project, status, …) index: without statistics it would pick
        // it and scan every active memory of the project for each row, instead of the (project, content_hash) one.
        sql: `INSERT INTO memories (${columns.join(", ")})
              SELECT ${columns.map((column) => `j.value ->> '${column}'`).join(", ")} FROM json_each(?) j
              WHERE NOT EXISTS (SELECT 1 FROM memories m WHERE m.id = j.value ->> 'id')
                AND (j.value ->> 'status' != 'active' OR NOT EXISTS (SELECT 1 FROM memories m
                      WHERE m.project = j.value ->> 'project' AND m.content_hash = j.value ->> 'content_hash' AND +m.status = 'active'))
                AND (j.value ->> 'idempotency_key' IS NULL OR NOT EXISTS (SELECT 1 FROM memories m
                      WHERE m.idempotency_key = j.value ->> 'idempotency_key'))`,
        args: [JSON.stringify(rows)],
      },
      {
        sql: `INSERT OR IGNORE INTO memory_tags (memory_seq, tag)
              SELECT m.seq, t.value FROM json_each(?) j CROSS JOIN memories m ON m.id = j.value CROSS JOIN json_each(m.tags) t`,
        args: [ids],
      },
      {
        sql: `INSERT OR IGNORE INTO memory_files (memory_seq, path)
              SELECT m.seq, f.value FROM json_each(?) j CROSS JOIN memories m ON m.id = j.value CROSS JOIN json_each(m.files) f`,
        args: [ids],
      },
      {
        sql: `INSERT OR IGNORE INTO memory_versions (memory_id, version, title, content, tags, files, importance, replaced_at, written_by)
              SELECT j.value ->> 'memory_id', j.value ->> 'version', j.value ->> 'title', j.value ->> 'content',
                     j.value ->> 'tags', j.value ->> 'files', j.value ->> 'importance', j.value ->> 'replaced_at',
                     j.value ->> 'written_by'
              FROM json_each(?) j WHERE EXISTS (SELECT 1 FROM memories m WHERE m.id = j.value ->> 'memory_id')`,
        args: [JSON.stringify(versions)],
      },
      { sql: "SELECT m.id FROM json_each(?) j CROSS JOIN memories m ON m.id = j.value", args: [ids] },
    ],
    "write",
  )) as { rows: Row[] }[];
  return new Set((results[4]?.rows ?? []).map((row) => String(row.id)));
}

/** Of `ids`, the memories stored, and the links (`from to relation`) that start at one of them. */
export async function storedLinkEnds(db: Database, ids: string[]) {
  const json = JSON.stringify(ids);
  const [known, links] = (await db.batch(
    [
      { sql: "SELECT m.id FROM json_each(?) j CROSS JOIN memories m ON m.id = j.value", args: [json] },
      {
        sql: "SELECT l.from_id, l.to_id, l.relation FROM json_each(?) j CROSS JOIN memory_links l ON l.from_id = j.value",
        args: [json],
      },
    ],
    "read",
  )) as { rows: Row[] }[];
  return {
    memories: new Set((known?.rows ?? []).map((row) => String(row.id))),
    links: new Set((links?.rows ?? []).map((row) => `${row.from_id} ${row.to_id} ${row.relation}`)),
  };
}

export async function writeLinks(
  db: Database,
  links: { from_id: string; to_id: string; relation: string; created_at: number }[],
): Promise<void> {
  if (links.length === 0) return;
  await db.execute(
    {
      sql: `INSERT OR IGNORE INTO memory_links (from_id, to_id, relation, created_at)
            SELECT j.value ->> 'from_id', j.value ->> 'to_id', j.value ->> 'relation', j.value ->> 'created_at' FROM json_each(?) j`,
      args: [JSON.stringify(links)],
    },
    "write",
  );
}

/** Of `ids`, the work sessions stored. */
export async function storedWorkSessions(db: Database, ids: string[]): Promise<Set<string>> {
  const known = await db.execute(
    {
      sql: "SELECT w.id FROM json_each(?) j CROSS JOIN work_sessions w ON w.id = j.value",
      args: [JSON.stringify(ids)],
    },
    "read",
  );
  return new Set(known.rows.map((row) => String(row.id)));
}

/** Insert work sessions (and the projects they name); returns the ids now stored. */
export async function writeWorkSessions(db: Database, sessions: ImportedWorkSession[]): Promise<Set<string>> {
  if (sessions.length === 0) return new Set();
  const projects = [...new Set(sessions.map((session) => session.project))];
  const statements: InStatement[] = [
    {
      sql: "INSERT OR IGNORE INTO projects (slug, name, created_at) SELECT value, value, ? FROM json_each(?)",
      args: [Date.now(), JSON.stringify(projects)],
    },
    ...sessions.map((session) => ({
      sql: `INSERT OR IGNORE INTO work_sessions
              (id, project, goal, outcome, next_steps, success, started_at, ended_at, started_by, ended_by)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      args: [
        session.id,
        session.project,
        session.goal,
        session.outcome,
        JSON.stringify(session.next_steps),
        session.success == null ? null : session.success ? 1 : 0,
        ms(session.started_at),
        ms(session.ended_at),
        attributionColumn(session.started_by),
        attributionColumn(session.ended_by),
      ],
    })),
  ];
  await db.batch(statements, "write");
  return storedWorkSessions(
    db,
    sessions.map((session) => session.id),
  );
}
