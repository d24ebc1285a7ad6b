import type { InStatement } from "@libsql/client/web";
import type { Database } from "../db/client";
import { FieldError } from "./errors";
import { assertContentSize, DEFAULT_SEVERITY, indexRows } from "./memories";
import { contentHash, DEFAULT_PROJECT, type MemoryKind, newMemoryId, normalizeFiles, normalizeTags } from "./model";
import { closeMatches, type SimilarMemory, similarStatement } from "./similar";

export interface NewMemory {
  content: string;
  title?: string;
  kind?: MemoryKind;
  project?: string;
  tags?: string[];
  files?: string[];
  importance?: number;
  /** Id of a memory this one replaces; the old one is marked superseded, never deleted. */
  supersedes?: string;
  /** A client-chosen key: repeating a save with the same key returns the first save's id. */
  idempotencyKey?: string;
  source?: string;
  /** Who wrote it (`attribution.ts`), as stored: set by the memory door, never by a caller's input. */
  writtenBy?: string | null;
  /** For kind `issue`: its severity (default 3). Every memory of kind `issue` is an open tracked issue. */
  issue?: { severity: number };
}

/** The severity of an issue saved without one: 1 is cosmetic, 5 blocking. */

export interface Remembered {
  id: string;
  /** True when an identical memory (same normalized content, same project) already existed, or the key was seen. */
  deduplicated: boolean;
  supersededId: string | null;
  similar: SimilarMemory[];
}

interface Prepared {
  input: NewMemory;
  id: string;
  project: string;
  hash: string;
  tags: string[];
  files: string[];
}

/**
 * Save memories (one or a batch), all or none, in one round trip when no
 * item supersedes another: one write transaction that first looks up the
 * similar memories to mention (before anything of this save is written, so
 * they are what the project held), then for each item inserts the memory
 * unless an identical one or its idempotency key exists (the duplicate
 * check, inside the transaction, so two concurrent saves of the same text
 * still yield one memory), its project, tag and file rows and any supersede
 * mark (each only if the memory was inserted), and asks which memory holds
 * the content now: this save's, or the one it duplicates.
 *
 * A memory to supersede must exist: when an item names one, those ids are
 * read first, and a missing one is refused before anything is written.
 *
 * Why one transaction rather than reads and then writes: each database round
 * trip is a subrequest of the Worker, and the read phase was one per save
 * (bench/cpu.ts, docs/benchmarks/2026-12-07-tool-cpu.md). The cost moves into
 * the write transaction: the similar lookups (1.5–3 ms each at 100,000
 * memories, see `similar.ts`) now run while it holds the tenant's write lock.
 */
export async function remember(db: Database, inputs: NewMemory[], now = Date.now()): Promise<Remembered[]> {
  const prepared: Prepared[] = await Promise.all(
    inputs.map(async (input) => {
      assertContentSize(input.content);
      return {
        input,
        id: newMemoryId(),
        project: input.project ?? DEFAULT_PROJECT,
        hash: await contentHash(input.content),
        tags: normalizeTags(input.tags),
        files: normalizeFiles(input.files),
      };
    }),
  );

  const targets = prepared.filter((item) => item.input.supersedes);
  if (targets.length > 0) {
    const found = await db.batch(
      targets.map((item) => ({ sql: "SELECT id FROM memories WHERE id = ?", args: [item.input.supersedes ?? null] })),
      "read",
    );
    targets.forEach((item, index) => {
      if (found[index]?.rows[0]) return;
      throw new FieldError("not_found", "supersedes", `no memory with id ${item.input.supersedes}`, "memory_not_found");
    });
  }

  const statements: InStatement[] = [];
  const text = (item: Prepared) => `${item.input.title ?? ""} ${item.input.content}`;
  const similarAt = prepared.map((item) => {
    const similar = similarStatement(item.project, text(item));
    return similar ? statements.push(similar) - 1 : null;
  });
  const writeAt = prepared.map((item) => {
    const { input } = item;
    // `+status` keeps the duplicate checks on the (project, content_hash) index: on `status = 'active'`
    // the planner picked (project, status, updated_at) and visited every active memory of the project.
    const insertAt =
      statements.push({
        sql: `INSERT INTO memories (id, project, kind, title, content, content_hash, tags, files, importance, supersedes,
              source, idempotency_key, issue_status, severity, created_at, updated_at, written_by)
            SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
            WHERE NOT EXISTS (SELECT 1 FROM memories WHERE project = ? AND content_hash = ? AND +status = 'active')
              AND NOT EXISTS (SELECT 1 FROM memories WHERE idempotency_key IS NOT NULL AND idempotency_key = ?)`,
        args: [
          item.id,
          item.project,
          input.kind ?? "note",
          input.title ?? null,
          input.content,
          item.hash,
          JSON.stringify(item.tags),
          JSON.stringify(item.files),
          input.importance ?? 3,
          input.supersedes ?? null,
          input.source ?? null,
          input.idempotencyKey ?? null,
          input.kind === "issue" ? "open" : null,
          input.kind === "issue" ? (input.issue?.severity ?? DEFAULT_SEVERITY) : null,
          now,
          now,
          input.writtenBy ?? null,
          item.project,
          item.hash,
          input.idempotencyKey ?? null,
        ],
      }) - 1;
    // The project, like the tag and file rows (keyed on the new id), only when the memory went in.
    statements.push({
      sql: `INSERT OR IGNORE INTO projects (slug, name, created_at)
            SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM memories WHERE id = ?)`,
      args: [item.project, item.project, now, item.id],
    });
    statements.push(...indexRows(item.id, item.tags, item.files));
    if (input.supersedes) {
      statements.push({
        sql: `UPDATE memories SET status = 'superseded', superseded_by = ?, updated_at = ?
              WHERE id = ? AND status = 'active' AND EXISTS (SELECT 1 FROM memories WHERE id = ?)`,
        args: [item.id, now, input.supersedes, item.id],
      });
    }
    // Which memory holds this content now: ours, or the one it duplicates (found before, or saved concurrently).
    const winnerAt =
      statements.push({
        sql: `SELECT id FROM memories
            WHERE id = ? OR (idempotency_key IS NOT NULL AND idempotency_key = ?)
               OR (project = ? AND content_hash = ? AND +status = 'active')
            ORDER BY (id = ?) DESC, seq LIMIT 1`,
        args: [item.id, input.idempotencyKey ?? null, item.project, item.hash, item.id],
      }) - 1;
    return { insertAt, winnerAt };
  });
  const results = await db.batch(statements, "write");

  return prepared.map((item, index) => {
    const { insertAt, winnerAt } = writeAt[index] as { insertAt: number; winnerAt: number };
    const inserted = (results[insertAt]?.rowsAffected ?? 0) > 0;
    const id = inserted ? item.id : String(results[winnerAt]?.rows[0]?.id ?? item.id);
    const at = similarAt[index] ?? null;
    const similar = at === null ? [] : closeMatches(text(item), results[at]?.rows ?? []);
    return {
      id,
      deduplicated: !inserted,
      supersededId: inserted ? (item.input.supersedes ?? null) : null,
      similar: similar.filter((memory) => memory.id !== id),
    };
  });
}
