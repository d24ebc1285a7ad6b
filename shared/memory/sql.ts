import type { InStatement } from "@libsql/client/web";

/** `?, ?, ?` for an IN list of `count` parameters (count ≥ 1). */
export function placeholders(count: number): string {
  return Array.from({ length: count }, () => "?").join(", ");
}

export function statement(sql: string, args: (string | number | null)[] = []): InStatement {
  return { sql, args };
}
