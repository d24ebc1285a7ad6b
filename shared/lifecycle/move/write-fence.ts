import { LibsqlError } from "@libsql/client/web";
import type { Database } from "../../db/client";
import type { TableShape } from "./table-copy";

/**
 * The write fence: triggers that make a tenant database refuse every insert,
 * update and delete while it is being copied away, and for good once the
 * tenant has moved. SQLite serialises write transactions, so once the fence
 * commits no later write can land, however late a request that was admitted
 * before the migration began arrives: the copy cannot miss a row. Reads are
 * untouched, so the tenant keeps reading its memories throughout.
 */
const MARKER = "muninn_fence";
const OPERATIONS = ["insert", "update", "delete"] as const;

const triggerName = (table: string, operation: string) => `"${MARKER}_${table.replaceAll('"', '""')}_${operation}"`;

export async function raiseFence(db: Database, tables: TableShape[], migrationId: string): Promise<void> {
  // The message is what a fenced write's error carries; `isFencedWrite` recognises it.
  const message = `${MARKER}: tenant database is read-only while migration ${migrationId} moves it`;
  await db.batch(
    tables.flatMap((table) =>
      OPERATIONS.map(
        (operation) =>
          `CREATE TRIGGER IF NOT EXISTS ${triggerName(table.name, operation)} BEFORE ${operation.toUpperCase()}
           ON "${table.name.replaceAll('"', '""')}" BEGIN SELECT RAISE(ABORT, '${message}'); END`,
      ),
    ),
    "write",
  );
}

/** Drop every fence trigger, whatever tables it was raised on. */
export async function lowerFence(db: Database): Promise<void> {
  const result = await db.execute(
    {
      sql: "SELECT name FROM sqlite_schema WHERE type = 'trigger' AND name LIKE ?",
      args: [`${MARKER}%`],
    },
    "read",
  );
  // LIKE's `_` is a wildcard; the prefix check keeps only our triggers for certain.
  const names = result.rows.map((row) => String(row.name)).filter((name) => name.startsWith(`${MARKER}_`));
  if (names.length === 0) return;
  await db.batch(
    names.map((name) => `DROP TRIGGER IF EXISTS "${name.replaceAll('"', '""')}"`),
    "write",
  );
}

/** True when a write failed because the tenant database is fenced for a migration. */
export function isFencedWrite(error: unknown): boolean {
  for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof LibsqlError && cause.message.includes(`${MARKER}:`)) return true;
  }
  return false;
}
