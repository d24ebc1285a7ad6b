import type { Database } from "./client";

/** One filter of a listing: SQL with `?` placeholders, then their values. */
export type Condition = readonly [sql: string, ...args: (string | number)[]];

export interface PageQuery {
  /** `SELECT … FROM …`: fixed text chosen by the caller, never user input (values go in `conditions`). */
  select: string;
  /** The filters in force; `null` for one that does not apply. Joined with AND. */
  conditions: (Condition | null)[];
  /** A total order (ending in a unique column), so a keyset cursor resumes exactly; fixed text like `select`. */
  orderBy: string;
  limit: number;
}

/**
 * One page of a keyset-paginated listing: at most `limit` rows, and whether
 * more follow (asked for as one extra row, so no COUNT is needed).
 */
export async function readPage(
  db: Database,
  query: PageQuery,
): Promise<{ rows: Record<string, unknown>[]; hasMore: boolean }> {
  const applied = query.conditions.filter((condition): condition is Condition => condition !== null);
  const where = applied.length > 0 ? `WHERE ${applied.map(([sql]) => sql).join(" AND ")}` : "";
  const result = await db.execute(
    {
      sql: `${query.select} ${where} ORDER BY ${query.orderBy} LIMIT ?`,
      args: [...applied.flatMap(([, ...args]) => args), query.limit + 1],
    },
    "read",
  );
  return { rows: result.rows.slice(0, query.limit), hasMore: result.rows.length > query.limit };
}
