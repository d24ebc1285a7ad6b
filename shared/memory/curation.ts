import type { Database } from "../db/client";
import { FieldError } from "./errors";
import { type Memory, rowToMemory } from "./model";
import { placeholders } from "./sql";

/**
 * Changes a person makes while curating memory in the console that no agent
 * tool makes: moving memories to another project, and reopening a resolved
 * issue. Each records who did it (`changed_by`) in the same statement.
 */

/**
 * Move memories (active or forgotten, not superseded history) to `project`,
 * creating the project if it is new; one transaction.
 */
export async function moveMemories(
  db: Database,
  ids: string[],
  project: string,
  by: string | null,
  now = Date.now(),
): Promise<{ moved: string[]; notFound: string[] }> {
  const unique = [...new Set(ids)];
  const [, moved] = await db.batch(
    [
      {
        sql: "INSERT OR IGNORE INTO projects (slug, name, created_at) VALUES (?, ?, ?)",
        args: [project, project, now],
      },
      {
        sql: `UPDATE memories SET project = ?, updated_at = ?, changed_by = ?
              WHERE id IN (${placeholders(unique.length)}) AND status != 'superseded' RETURNING id`,
        args: [project, now, by, ...unique],
      },
    ],
    "write",
  );
  const done = new Set((moved?.rows ?? []).map((row) => String(row.id)));
  return { moved: unique.filter((id) => done.has(id)), notFound: unique.filter((id) => !done.has(id)) };
}

/** A resolved issue open again: its resolution is cleared. */
export async function reopenIssue(db: Database, id: string, by: string | null, now = Date.now()): Promise<Memory> {
  const result = await db.execute(
    {
      sql: `UPDATE memories SET issue_status = 'open', resolution = NULL, resolved_at = NULL, updated_at = ?, changed_by = ?
            WHERE id = ? AND kind = 'issue' AND status = 'active' RETURNING *`,
      args: [now, by, id],
    },
    "write",
  );
  const row = result.rows[0];
  if (!row) throw new FieldError("not_found", "id", `no issue with id ${id}`, "issue_not_found");
  return rowToMemory(row);
}
