import type { InStatement } from "@libsql/client/web";
import { z } from "zod";
import { decodeCursor, encodeCursor } from "../cursor";
import type { Database } from "../db/client";
import { readPage } from "../db/page";
import { AppError } from "../errors";
import { type Attribution, parseAttribution } from "./attribution";
import { FieldError } from "./errors";
import {
  contentHash,
  DEFAULT_PROJECT,
  jsonArray,
  LIMITS,
  type LinkRelation,
  type Memory,
  type MemoryKind,
  type MemoryStatus,
  normalizeFiles,
  normalizeTags,
  rowToMemory,
  utf8Bytes,
} from "./model";
import { placeholders, resultAt } from "./sql";

/** The statement counting a use of each memory: `get` and citing one do; being returned by `recall` does not. */
function accessStatement(ids: string[], now: number): InStatement {
  return {
    sql: `UPDATE memories SET access_count = access_count + 1, accessed_at = ? WHERE id IN (${placeholders(ids.length)})`,
    args: [now, ...ids],
  };
}

export const DEFAULT_SEVERITY = 3;

export function assertContentSize(content: string, field = "content"): void {
  const bytes = utf8Bytes(content);
  if (bytes > LIMITS.contentBytes) {
    throw new AppError(
      "invalid_request",
      `${field} is ${bytes} bytes; the limit is ${LIMITS.contentBytes} bytes (32 KiB)`,
      { code: "content_too_large" },
    );
  }
}

/**
 * Rows in `memory_tags` / `memory_files` for a memory, from its JSON arrays.
 * With `version`, rows are written only while the memory is still at that
 * version, so an update that lost a race leaves the index alone.
 */
export function indexRows(id: string, tags: string[], files: string[], version?: number): InStatement[] {
  const where = version === undefined ? "m.id = ?" : "m.id = ? AND m.version = ?";
  const key = version === undefined ? [id] : [id, version];
  const statements: InStatement[] = [];
  if (tags.length > 0) {
    statements.push({
      sql: `INSERT OR IGNORE INTO memory_tags (memory_seq, tag)
            SELECT m.seq, j.value FROM memories m, json_each(?) j WHERE ${where}`,
      args: [JSON.stringify(tags), ...key],
    });
  }
  if (files.length > 0) {
    statements.push({
      sql: `INSERT OR IGNORE INTO memory_files (memory_seq, path)
            SELECT m.seq, j.value FROM memories m, json_each(?) j WHERE ${where}`,
      args: [JSON.stringify(files), ...key],
    });
  }
  return statements;
}

export interface MemoryVersion {
  version: number;
  title: string | null;
  content: string;
  tags: string[];
  files: string[];
  importance: number;
  replacedAt: string;
}

export interface MemoryLink {
  fromId: string;
  toId: string;
  relation: LinkRelation;
  createdAt: string;
}

export interface MemoryDetail extends Memory {
  /** Who wrote the current version (`attribution.ts`); null before attribution. */
  writtenBy: Attribution | null;
  versions: MemoryVersion[];
  links: MemoryLink[];
}

/** Full memories by id, with their version history and links. Counts as a use of each one found. */
export async function getMemories(
  db: Database,
  ids: string[],
  now = Date.now(),
): Promise<{ memories: MemoryDetail[]; notFound: string[] }> {
  const unique = [...new Set(ids)];
  const list = placeholders(unique.length);
  const results = await db.batch(
    [
      accessStatement(unique, now),
      { sql: `SELECT * FROM memories WHERE id IN (${list})`, args: unique },
      {
        sql: `SELECT * FROM memory_versions WHERE memory_id IN (${list}) ORDER BY memory_id, version`,
        args: unique,
      },
      {
        sql: `SELECT * FROM memory_links WHERE from_id IN (${list}) OR to_id IN (${list}) ORDER BY created_at`,
        args: [...unique, ...unique],
      },
    ],
    "write",
  );
  // Statement 0 is the access-count update; its result is not needed.
  const memoriesResult = resultAt(results, 1);
  const versionsResult = resultAt(results, 2);
  const linksResult = resultAt(results, 3);
  const found = new Map(
    memoriesResult.rows.map((row) => [
      String(row.id),
      { ...rowToMemory(row), writtenBy: parseAttribution(row.written_by) },
    ]),
  );
  const memories = unique.flatMap((id): MemoryDetail[] => {
    const memory = found.get(id);
    if (!memory) return [];
    return [
      {
        ...memory,
        versions: versionsResult.rows
          .filter((row) => row.memory_id === id)
          .map((row) => ({
            version: Number(row.version),
            title: row.title == null ? null : String(row.title),
            content: String(row.content),
            tags: jsonArray(row.tags),
            files: jsonArray(row.files),
            importance: Number(row.importance),
            replacedAt: new Date(Number(row.replaced_at)).toISOString(),
          })),
        links: linksResult.rows
          .filter((row) => row.from_id === id || row.to_id === id)
          .map((row) => ({
            fromId: String(row.from_id),
            toId: String(row.to_id),
            relation: row.relation as LinkRelation,
            createdAt: new Date(Number(row.created_at)).toISOString(),
          })),
      },
    ];
  });
  return { memories, notFound: unique.filter((id) => !found.has(id)) };
}

export interface MemoryChange {
  id: string;
  /** `replace` (default) swaps the content; `append` adds it after a blank line. */
  mode?: "replace" | "append";
  content?: string;
  title?: string | null;
  kind?: MemoryKind;
  tags?: string[];
  files?: string[];
  importance?: number;
  /** Who wrote the new version (`attribution.ts`), as stored; set by the memory door. */
  writtenBy?: string | null;
}

/**
 * Change a memory, keeping what it was as a version. The version row, the
 * tag and file rows and the change are written in one transaction, every
 * statement guarded by the version read, so a concurrent update cannot be
 * lost silently: it fails with a conflict and writes nothing. The guarded
 * statements run before the one that bumps the version, while the guard can
 * still hold.
 */
export async function updateMemory(db: Database, change: MemoryChange, now = Date.now()): Promise<Memory> {
  const current = await db.execute({ sql: "SELECT * FROM memories WHERE id = ?", args: [change.id] }, "read");
  const row = current.rows[0];
  if (!row) throw new AppError("not_found", `no memory with id ${change.id}`, { code: "memory_not_found" });
  const memory = rowToMemory(row);
  if (memory.status === "forgotten") {
    throw new AppError("conflict", `memory ${change.id} is forgotten; restore it before updating`, {
      code: "memory_forgotten",
    });
  }
  const content =
    change.content === undefined
      ? memory.content
      : change.mode === "append"
        ? `${memory.content}\n\n${change.content}`
        : change.content;
  assertContentSize(content);
  const tags = change.tags === undefined ? memory.tags : normalizeTags(change.tags);
  const files = change.files === undefined ? memory.files : normalizeFiles(change.files);
  const title = change.title === undefined ? memory.title : change.title;
  const importance = change.importance ?? memory.importance;
  const kind = change.kind ?? memory.kind;
  const guard = "EXISTS (SELECT 1 FROM memories WHERE id = ? AND version = ?)";
  const guardArgs = [memory.id, memory.version];

  const statements: InStatement[] = [
    {
      sql: `INSERT INTO memory_versions (memory_id, version, title, content, tags, files, importance, replaced_at, written_by)
            SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE ${guard}`,
      args: [
        memory.id,
        memory.version,
        memory.title,
        memory.content,
        JSON.stringify(memory.tags),
        JSON.stringify(memory.files),
        memory.importance,
        now,
        row.written_by ?? null,
        ...guardArgs,
      ],
    },
  ];
  if (change.tags !== undefined || change.files !== undefined) {
    const seq = Number(row.seq);
    statements.push(
      { sql: `DELETE FROM memory_tags WHERE memory_seq = ? AND ${guard}`, args: [seq, ...guardArgs] },
      { sql: `DELETE FROM memory_files WHERE memory_seq = ? AND ${guard}`, args: [seq, ...guardArgs] },
      ...indexRows(memory.id, tags, files, memory.version),
    );
  }
  const bump =
    statements.push({
      // A memory of kind issue is always a tracked issue: becoming one opens it, leaving the kind ends it.
      sql: `UPDATE memories SET content = ?, content_hash = ?, title = ?, kind = ?, tags = ?, files = ?, importance = ?,
              ${kind === "issue" ? `issue_status = COALESCE(issue_status, 'open'), severity = COALESCE(severity, ${DEFAULT_SEVERITY})` : "issue_status = NULL, severity = NULL"},
              version = version + 1, updated_at = ?, written_by = ?
            WHERE id = ? AND version = ?`,
      args: [
        content,
        await contentHash(content),
        title,
        kind,
        JSON.stringify(tags),
        JSON.stringify(files),
        importance,
        now,
        change.writtenBy ?? null,
        ...guardArgs,
      ],
    }) - 1;
  const results = await db.batch(statements, "write");
  if (results[bump]?.rowsAffected !== 1) {
    throw new AppError("conflict", `memory ${change.id} was changed concurrently; read it again and retry`, {
      code: "memory_conflict",
    });
  }
  return {
    ...memory,
    content,
    title,
    kind,
    tags,
    files,
    importance,
    version: memory.version + 1,
    issue:
      kind === "issue"
        ? (memory.issue ?? { status: "open", severity: DEFAULT_SEVERITY, resolution: null, resolvedAt: null })
        : null,
    updatedAt: new Date(now).toISOString(),
  };
}

/** Statements deleting memories matched by `where` for good: row, index entry (by trigger), tags, files, history, links. */
function purgeStatements(where: string, args: (string | number)[]): InStatement[] {
  return [
    { sql: `DELETE FROM memory_tags WHERE memory_seq IN (SELECT seq FROM memories WHERE ${where})`, args },
    { sql: `DELETE FROM memory_files WHERE memory_seq IN (SELECT seq FROM memories WHERE ${where})`, args },
    { sql: `DELETE FROM memory_versions WHERE memory_id IN (SELECT id FROM memories WHERE ${where})`, args },
    {
      sql: `DELETE FROM memory_links WHERE from_id IN (SELECT id FROM memories WHERE ${where})
              OR to_id IN (SELECT id FROM memories WHERE ${where})`,
      args: [...args, ...args],
    },
    { sql: `DELETE FROM memories WHERE ${where} RETURNING id`, args },
  ];
}

/**
 * Forget memories. Soft (default): hidden from recall and list, restorable
 * for 30 days. Hard: the row, its full-text entry, tags, files, history and
 * links are purged in one transaction. Soft-forgotten memories past the
 * restore window are purged on the way.
 */
export async function forgetMemories(
  db: Database,
  ids: string[],
  hard: boolean,
  now = Date.now(),
  by: string | null = null,
): Promise<{ forgotten: string[]; notFound: string[] }> {
  const unique = [...new Set(ids)];
  const list = placeholders(unique.length);
  const expired = purgeStatements("forgotten_at IS NOT NULL AND forgotten_at < ?", [now - LIMITS.restoreWindowMs]);
  const action: InStatement[] = hard
    ? purgeStatements(`id IN (${list})`, unique)
    : [
        {
          sql: `UPDATE memories SET status = 'forgotten', forgotten_at = ?, updated_at = ?, changed_by = ?
                WHERE id IN (${list}) AND status != 'forgotten' RETURNING id`,
          args: [now, now, by, ...unique],
        },
        { sql: `SELECT id FROM memories WHERE id IN (${list}) AND status = 'forgotten'`, args: unique },
      ];
  const results = await db.batch([...action, ...expired], "write");
  const done = new Set<string>();
  if (hard) {
    for (const row of resultAt(results, action.length - 1).rows) done.add(String(row.id));
  } else {
    for (const row of resultAt(results, 0).rows) done.add(String(row.id));
    // Already forgotten counts as forgotten: forgetting twice is not an error.
    for (const row of resultAt(results, 1).rows) done.add(String(row.id));
  }
  return { forgotten: unique.filter((id) => done.has(id)), notFound: unique.filter((id) => !done.has(id)) };
}

/** Undo soft deletes made within the restore window. Superseded memories come back superseded. */
export async function restoreMemories(
  db: Database,
  ids: string[],
  now = Date.now(),
  by: string | null = null,
): Promise<{ restored: string[]; notRestorable: string[] }> {
  const unique = [...new Set(ids)];
  const result = await db.execute(
    {
      sql: `UPDATE memories
          SET status = CASE WHEN superseded_by IS NULL THEN 'active' ELSE 'superseded' END,
              forgotten_at = NULL, updated_at = ?, changed_by = ?
          WHERE id IN (${placeholders(unique.length)}) AND status = 'forgotten' AND forgotten_at >= ?
          RETURNING id`,
      args: [now, by, ...unique, now - LIMITS.restoreWindowMs],
    },
    "write",
  );
  const restored = new Set(result.rows.map((row) => String(row.id)));
  return { restored: unique.filter((id) => restored.has(id)), notRestorable: unique.filter((id) => !restored.has(id)) };
}

export type ListSort = "recent" | "importance" | "use";

export interface ListInput {
  project?: string;
  allProjects?: boolean;
  kind?: MemoryKind;
  tag?: string;
  status?: MemoryStatus;
  sort?: ListSort;
  limit?: number;
  cursor?: string;
}

export interface ListPage {
  memories: Memory[];
  nextCursor: string | null;
}

/**
 * Each sort is a single integer key plus `seq` as tie-breaker, so the cursor
 * is a keyset position (stable under inserts, no OFFSET scans). Importance
 * ranks first and recency within it: importance × 10¹³ + updated ms still fits
 * in a double exactly.
 */
const SORT_KEY: Record<ListSort, string> = {
  recent: "m.updated_at",
  importance: "(m.importance * 10000000000000 + m.updated_at)",
  use: "m.access_count",
};

/** A `list` cursor: the last row's sort key and `seq`. */
const listCursor = z.tuple([z.number(), z.number()]);

export async function listMemories(db: Database, input: ListInput): Promise<ListPage> {
  const tag = input.tag ? normalizeTags([input.tag])[0] : undefined;
  const key = SORT_KEY[input.sort ?? "recent"];
  const after = input.cursor ? decodeCursor(listCursor, input.cursor, "list") : null;
  const { rows, hasMore } = await readPage(db, {
    select: `SELECT m.*, ${key} AS sort_key FROM memories m`,
    conditions: [
      ["m.status = ?", input.status ?? "active"],
      input.allProjects ? null : ["m.project = ?", input.project ?? DEFAULT_PROJECT],
      input.kind ? ["m.kind = ?", input.kind] : null,
      tag ? ["m.seq IN (SELECT memory_seq FROM memory_tags WHERE tag = ?)", tag] : null,
      after ? [`(${key} < ? OR (${key} = ? AND m.seq < ?))`, after[0], after[0], after[1]] : null,
    ],
    orderBy: "sort_key DESC, m.seq DESC",
    limit: input.limit ?? 20,
  });
  const last = rows.at(-1);
  return {
    memories: rows.map(rowToMemory),
    nextCursor: hasMore && last ? encodeCursor([Number(last.sort_key), Number(last.seq)]) : null,
  };
}

/** Relate two memories (which counts as a use of both). Linking the same pair the same way twice is a no-op. */
export async function linkMemories(
  db: Database,
  fromId: string,
  toId: string,
  relation: LinkRelation,
  now = Date.now(),
  by: string | null = null,
): Promise<{ created: boolean }> {
  if (fromId === toId) {
    throw new FieldError("invalid_request", "toId", "a memory cannot be linked to itself", "self_link");
  }
  const results = await db.batch(
    [
      { sql: "SELECT id FROM memories WHERE id IN (?, ?)", args: [fromId, toId] },
      {
        sql: `INSERT OR IGNORE INTO memory_links (from_id, to_id, relation, created_at, created_by)
              SELECT ?, ?, ?, ?, ? WHERE (SELECT COUNT(*) FROM memories WHERE id IN (?, ?)) = 2`,
        args: [fromId, toId, relation, now, by, fromId, toId],
      },

      // Linking a memory cites it: both ends count as used.
      accessStatement([fromId, toId], now),
    ],
    "write",
  );
  const found = resultAt(results, 0);
  const inserted = resultAt(results, 1);
  const present = new Set(found.rows.map((row) => String(row.id)));
  for (const [field, id] of [
    ["fromId", fromId],
    ["toId", toId],
  ] as const) {
    if (!present.has(id)) throw new FieldError("not_found", field, `no memory with id ${id}`, "memory_not_found");
  }
  return { created: inserted.rowsAffected === 1 };
}
