import type { ResultSet } from "@libsql/client/web";

/** `?, ?, ?` for an IN list of `count` parameters (count ≥ 1). */
export function placeholders(count: number): string {
  return Array.from({ length: count }, () => "?").join(", ");
}

/**
 * The result of the statement at `index` in a `db.batch` call. A batch
 * answers every statement or throws, so a missing entry means the caller's
 * index bookkeeping is wrong; fail loudly rather than read `undefined`.
 */
export function resultAt(results: ResultSet[], index: number): ResultSet {
  const result = results[index];
  if (!result) throw new Error(`batch result ${index} is missing (the batch returned ${results.length})`);
  return result;
}
