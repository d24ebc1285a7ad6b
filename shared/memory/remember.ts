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
 * Save memories (one or a batch). Reads first — idempotency keys, exact
 * duplicates, memories to supersede, similar memories to mention — then
 * writes every new memory, its tag and file rows, its project and any
 * supersede marks in one transaction, so a batch is saved whole or not at
 * all. The write re-checks duplicates inside the transaction, so two
 * concurrent saves of the same text still yield one memory.
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

  // Read phase: one round trip for every item's lookups. `+status` in the
  // duplicate checks keeps them on the (project, content_hash) index: on
  // `status = 'active'` the planner picked (project, status, updated_at) and
  // visited every active memory of the project for each item.
  const reads: InStatement[] = [];
  const readIndex: { existing: number; supersedes: number | null; similar: number | null }[] = [];
  for (const item of prepared) {
    const existing =
      reads.push({
        sql: `SELECT id FROM memories
            WHERE (idempotency_key IS NOT NULL AND idempotency_key = ?)
               OR (project = ? AND content_hash = ? AND +status = 'active')
            ORDER BY seq LIMIT 1`,
        args: [item.input.idempotencyKey ?? null, item.project, item.hash],
      }) - 1;
    const supersedes = item.input.supersedes
      ? reads.push({ sql: "SELECT id, status FROM memories WHERE id = ?", args: [item.input.supersedes] }) - 1
      : null;
    const similarSql = similarStatement(item.project, `${item.input.title ?? ""} ${item.input.content}`);
    const similar = similarSql ? reads.push(similarSql) - 1 : null;
    readIndex.push({ existing, supersedes, similar });
  }
  const readResults = await db.batch(reads, "read");

  const writes: InStatement[] = [];
  const outcome: (Remembered & { insertAt: number | null; winnerAt: number; item: Prepared })[] = prepared.map(
    (item, index) => {
      // The read phase pushed one readIndex entry per prepared item, in order.
      const at = readIndex[index];
      if (!at) throw new Error(`remember: no read lookups for item ${index}`);
      const existingId = readResults[at.existing]?.rows[0]?.id;
      const similar =
        at.similar === null
          ? []
          : closeMatches(`${item.input.title ?? ""} ${item.input.content}`, readResults[at.similar]?.rows ?? []);
      if (at.supersedes !== null && !readResults[at.supersedes]?.rows[0]) {
        throw new FieldError(
          "not_found",
          "supersedes",
          `no memory with id ${item.input.supersedes}`,
          "memory_not_found",
        );
      }
      if (existingId != null) {
        return {
          id: String(existingId),
          deduplicated: true,
          supersededId: null,
          similar,
          insertAt: null,
          winnerAt: 0,
          item,
        };
      }
      const supersededId = item.input.supersedes ?? null;
      return { id: item.id, deduplicated: false, supersededId, similar, insertAt: 0, winnerAt: 0, item };
    },
  );

  for (const entry of outcome) {
    if (entry.insertAt === null) continue;
    const { item } = entry;
    const { input } = item;
    writes.push({
      sql: "INSERT OR IGNORE INTO projects (slug, name, created_at) VALUES (?, ?, ?)",
      args: [item.project, item.project, now],
    });
    entry.insertAt =
      writes.push({
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
    writes.push(...indexRows(item.id, item.tags, item.files));
    if (input.supersedes) {
      writes.push({
        sql: `UPDATE memories SET status = 'superseded', superseded_by = ?, updated_at = ?
              WHERE id = ? AND status = 'active' AND EXISTS (SELECT 1 FROM memories WHERE id = ?)`,
        args: [item.id, now, input.supersedes, item.id],
      });
    }
    // Which memory holds this content now: ours, or the winner of a concurrent save.
    entry.winnerAt =
      writes.push({
        sql: `SELECT id FROM memories
            WHERE id = ? OR (idempotency_key IS NOT NULL AND idempotency_key = ?)
               OR (project = ? AND content_hash = ? AND +status = 'active')
            ORDER BY (id = ?) DESC, seq LIMIT 1`,
        args: [item.id, input.idempotencyKey ?? null, item.project, item.hash, item.id],
      }) - 1;
  }
  if (writes.length > 0) {
    const results = await db.batch(writes, "write");
    for (const entry of outcome) {
      if (entry.insertAt === null) continue;
      if (results[entry.insertAt]?.rowsAffected === 0) {
        // Lost a race to an identical save: report the winner, as a duplicate.
        entry.id = String(results[entry.winnerAt]?.rows[0]?.id ?? entry.id);
        entry.deduplicated = true;
        entry.supersededId = null;
      }
    }
  }
  return outcome.map(({ id, deduplicated, supersededId, similar }) => ({
    id,
    deduplicated,
    supersededId,
    similar: similar.filter((memory) => memory.id !== id),
  }));
}
