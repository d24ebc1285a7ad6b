import { LibsqlError } from "@libsql/client/web";
import type { Database } from "./client";

/** One numbered schema change. Statements run in a single write transaction. */
export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

export interface MigrationResult {
  from: number;
  to: number;
  applied: number[];
}

const CREATE_TRACKING_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
)`;

async function appliedVersions(db: Database): Promise<Set<number>> {
  const result = await db.execute("SELECT version FROM schema_migrations", "read");
  return new Set(result.rows.map((row) => Number(row.version)));
}

/** The highest applied version, or 0 for a database never migrated. */
export async function schemaVersion(db: Database): Promise<number> {
  await db.execute(CREATE_TRACKING_TABLE, "write");
  const result = await db.execute("SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations", "read");
  return Number(result.rows[0]?.version ?? 0);
}

/**
 * Bring a database up to the latest migration. Safe to run again (applied
 * versions are skipped) and safe to run twice at once: each migration's batch
 * starts by inserting its version row, so of two concurrent runners exactly
 * one commits and the other's whole batch rolls back on the primary key.
 */
export async function migrate(db: Database, migrations: readonly Migration[]): Promise<MigrationResult> {
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  ordered.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`migrations must be numbered 1..n without gaps; found ${migration.version} at ${index + 1}`);
    }
  });

  await db.execute(CREATE_TRACKING_TABLE, "write");
  const done = await appliedVersions(db);
  const from = done.size === 0 ? 0 : Math.max(...done);
  const applied: number[] = [];

  for (const migration of ordered) {
    if (done.has(migration.version)) continue;
    try {
      await db.batch(
        [
          {
            sql: "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
            args: [migration.version, migration.name],
          },
          ...migration.statements,
        ],
        "write",
      );
      applied.push(migration.version);
    } catch (error) {
      // Lost the race to a concurrent runner: its copy of this migration is in.
      const raced = error instanceof LibsqlError && error.code.startsWith("SQLITE_CONSTRAINT");
      if (!raced || !(await appliedVersions(db)).has(migration.version)) throw error;
    }
  }

  return { from, to: ordered.at(-1)?.version ?? from, applied };
}
