import type { Database } from "../db/client";

/**
 * How many memories a tenant has stored and not forgotten (superseded
 * versions are history, not stored memories). Read from `memory_counts`,
 * which triggers keep exact on every insert, delete and change of status
 * (tenant DB v4): a few dozen rows whatever the number of memories, where a
 * `COUNT(*)` would walk an index entry per memory on every usage page view.
 */
export async function countActiveMemories(db: Database): Promise<number> {
  const result = await db.execute("SELECT COALESCE(SUM(n), 0) AS n FROM memory_counts WHERE status = 'active'", "read");
  return Number(result.rows[0]?.n ?? 0);
}
