import type { Database } from "../db/client";

/**
 * How many memories a tenant has stored and not forgotten (superseded
 * versions are history, not stored memories). Counted from the
 * `memories_status_updated` index, so it reads the index, not the rows.
 */
export async function countActiveMemories(db: Database): Promise<number> {
  const result = await db.execute("SELECT COUNT(*) AS n FROM memories WHERE status = 'active'", "read");
  return Number(result.rows[0]?.n ?? 0);
}
